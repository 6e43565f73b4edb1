/* Private fast math of the C core: bit casts and a vectorisable exp shared by the kernels whose loops
   must vectorise (glibc's expf does not). */
#ifndef TL_FASTMATH_H
#define TL_FASTMATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#define TL_ALWAYS_INLINE static inline __attribute__((always_inline))

TL_ALWAYS_INLINE float tl_bits_float(int32_t i) {
    float f;
    memcpy(&f, &i, sizeof f);
    return f;
}

TL_ALWAYS_INLINE int32_t tl_float_bits(float f) {
    int32_t i;
    memcpy(&i, &f, sizeof i);
    return i;
}

/* exp(x) to about 2 ulp (Cephes expf: Cody-Waite reduction x = k ln2 + r, |r| <= ln2/2, degree-6
   polynomial), branch-free so that loops calling it vectorise. k is rounded by adding 1.5 * 2^23,
   which leaves k in the low mantissa bits, so 2^k is built from those bits without a float-to-int
   conversion. The scale is 2 * 2^(k-1) so that k = 128 (x just below the overflow point) stays
   finite; that needs k >= -125, so results below 2^-125 (x < -86.6) flush to 0. Above 88.72 it is
   +inf. The clamps are compare-selects that map to single max/min instructions and let NaN through,
   so NaN propagates without a select of its own. */
TL_ALWAYS_INLINE float tl_expf(float x) {
    const float lo = -86.6f, hi = 88.72283f, round = 12582912.0f; /* 1.5 * 2^23 */
    float xc = x < lo ? lo : x;
    xc = xc > hi ? hi : xc;
    const float kr = xc * 1.44269504088896341f + round;
    const float k = kr - round;
    float r = xc - k * 0.693359375f;
    r = r - k * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * (r * r) + r + 1.0f;
    float e = (p + p) * tl_bits_float((int32_t)(((uint32_t)tl_float_bits(kr) + 126u) << 23));
    e = x < lo ? 0.0f : e;
    return x > hi ? INFINITY : e;
}

#endif
