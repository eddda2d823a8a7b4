/* utf8: Unicode services over utf8proc. */
#include <sys/types.h>

#include <stdint.h>
#include <string.h>

#include <utf8proc.h>

#include "utf8.h"

size_t
utf8_valid_prefix(const char *s, size_t len)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i = 0;
	utf8proc_int32_t	 cp;
	utf8proc_ssize_t	 n;

	while (i < len) {
		/* ASCII needs no decoder, and is most of what passes here:
		 * take it eight bytes at a time. */
		while (i + 8 <= len) {
			uint64_t	 w;

			memcpy(&w, p + i, 8);
			if (w & UINT64_C(0x8080808080808080))
				break;
			i += 8;
		}
		if (i == len)
			break;
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		n = utf8proc_iterate(p + i, (utf8proc_ssize_t)(len - i), &cp);
		if (n < 0)
			return i;
		i += (size_t)n;
	}
	return len;
}
