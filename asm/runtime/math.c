/* math.c -- the freestanding runtime's <math.h>: small, exact where allocators
 * need it to be.
 *
 * Doubles are taken apart with frexp/ldexp (bit fields: 63 sign, 62..52
 * biased exponent, 51..0 fraction). log works on x = m * 2^e with m in
 * [sqrt(1/2), sqrt(2)): ln m = 2 atanh(s), s = (m-1)/(m+1), |s| < 0.172, a
 * series whose terms fall by s^2 < 0.03 each, so 12 terms reach double
 * precision. exp reduces x = k ln2 + r, |r| <= ln2/2, and sums Taylor's
 * series. A power of two has m = 1, s = 0, so log2 gives e exactly.
 */
#include <math.h>
#include <stdint.h>

#define LN2_HI 6.93147180369123816490e-01     /* ln 2 split so k * LN2_HI is exact */
#define LN2_LO 1.90821492927058770002e-10
#define EXPONENT_BIAS 1023

static uint64_t bits(double x) { union { double d; uint64_t u; } v = {x}; return v.u; }
static double from_bits(uint64_t u) { union { uint64_t u; double d; } v = {u}; return v.d; }

double fabs(double x) { return from_bits(bits(x) & ~(1ull << 63)); }

double trunc(double x)
{
    if (!(fabs(x) < 4503599627370496.0))          /* 2^52: already whole (or NaN/inf) */
        return x;
    return (double)(long long)x;
}

double floor(double x) { double t = trunc(x); return t > x ? t - 1 : t; }
double ceil(double x) { double t = trunc(x); return t < x ? t + 1 : t; }
double round(double x) { return x < 0 ? -floor(-x + 0.5) : floor(x + 0.5); }
double fmin(double x, double y) { return isnan(x) ? y : isnan(y) ? x : x < y ? x : y; }
double fmax(double x, double y) { return isnan(x) ? y : isnan(y) ? x : x > y ? x : y; }

double sqrt(double x)
{
    double r;
    __asm__("sqrtsd %1, %0" : "=x"(r) : "x"(x));
    return r;
}

double fmod(double x, double y)
{
    if (y == 0 || isinf(x) || isnan(x) || isnan(y))
        return NAN;
    return x - trunc(x / y) * y;
}

double frexp(double x, int *exp)
{
    uint64_t u = bits(x);
    int e = (int)(u >> 52 & 0x7ff);
    if (x == 0 || e == 0x7ff) {                   /* zero, inf, NaN */
        *exp = 0;
        return x;
    }
    if (e == 0) {                                 /* subnormal: scale up first */
        double m = frexp(x * 18014398509481984.0, exp);   /* 2^54 */
        *exp -= 54;
        return m;
    }
    *exp = e - (EXPONENT_BIAS - 1);
    return from_bits((u & ~(0x7ffull << 52)) | ((uint64_t)(EXPONENT_BIAS - 1) << 52));
}

double ldexp(double x, int exp)
{
    while (exp > 1000) { x *= 0x1p1000; exp -= 1000; }
    while (exp < -1000) { x *= 0x1p-1000; exp += 1000; }
    return x * from_bits((uint64_t)(exp + EXPONENT_BIAS) << 52);
}

double modf(double x, double *whole) { *whole = trunc(x); return x - *whole; }

int ilogb(double x) { int e; frexp(x, &e); return e - 1; }

/* ln x as e * ln2 + ln m; returns the two parts, so log2 can keep e exact. */
static double log_parts(double x, int *e)
{
    double m = frexp(x, e);
    if (m < 0.70710678118654752440) {
        m *= 2;
        *e -= 1;
    }
    double s = (m - 1) / (m + 1), s2 = s * s, term = s, sum = 0;
    for (int k = 1; k < 26; k += 2) {
        sum += term / k;
        term *= s2;
    }
    return 2 * sum;
}

static double log_special(double x)
{
    if (isnan(x) || x < 0)
        return NAN;
    return x == 0 ? -INFINITY : x;                /* log 0 = -inf, log inf = inf */
}

double log(double x)
{
    if (!(x > 0) || isinf(x))
        return log_special(x);
    int e;
    double ln_m = log_parts(x, &e);
    return e * LN2_HI + (e * LN2_LO + ln_m);
}

double log2(double x)
{
    if (!(x > 0) || isinf(x))
        return log_special(x);
    int e;
    double ln_m = log_parts(x, &e);
    return e + ln_m * 1.44269504088896340736;     /* 1 / ln 2 */
}

double log10(double x) { return log(x) * 0.43429448190325182765; }

double exp(double x)
{
    if (isnan(x))
        return x;
    if (x > 709.8)
        return INFINITY;
    if (x < -745.2)
        return 0;
    double k = round(x / M_LN2);
    double r = (x - k * LN2_HI) - k * LN2_LO, term = 1, sum = 1;
    for (int n = 1; n < 20; n++) {
        term *= r / n;
        sum += term;
    }
    return ldexp(sum, (int)k);
}

double exp2(double x)
{
    if (x == trunc(x) && fabs(x) < 1100)
        return ldexp(1.0, (int)x);
    return exp(x * M_LN2);
}

/* x^n for a whole n, by squaring: exact while the result is. */
static double power_whole(double x, long long n)
{
    unsigned long long k = n < 0 ? -(unsigned long long)n : (unsigned long long)n;
    double result = 1;
    for (; k; k >>= 1, x *= x) {
        if (k & 1)
            result *= x;
    }
    return n < 0 ? 1 / result : result;
}

double pow(double x, double y)
{
    if (y == 0)
        return 1;
    if (isnan(x) || isnan(y))
        return NAN;
    if (y == trunc(y) && fabs(y) < 9.2e18)
        return power_whole(x, (long long)y);
    if (x < 0)
        return NAN;                                /* a negative base, a fractional power */
    if (x == 0)
        return y > 0 ? 0 : INFINITY;
    return exp(y * log(x));
}

float fabsf(float x) { return (float)fabs(x); }
float floorf(float x) { return (float)floor(x); }
float ceilf(float x) { return (float)ceil(x); }
float sqrtf(float x) { return (float)sqrt(x); }
float log2f(float x) { return (float)log2(x); }
float powf(float x, float y) { return (float)pow(x, y); }
