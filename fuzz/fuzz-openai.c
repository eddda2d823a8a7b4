/*
 * fuzz-openai: the parser of OpenAI-compatible embedding responses, the
 * same target as fuzz-native with the other answer format.
 */
#define FUZZ_API	DASHSCOPE_OPENAI
#include "fuzz-native.c"
