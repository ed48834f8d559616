/* math.h -- the freestanding runtime's mathematics (asm/runtime/math.c).
 *
 * What allocator code uses for size classes (log2, ceil, floor, pow, sqrt)
 * and a little more. Results are correctly rounded or within an ulp or two;
 * log2 of a power of two, pow with an integer exponent, and exp2 of an
 * integer are exact, so (int)log2(n) and ceil(log2(n)) give the class a
 * native libm gives. No errno, no long double.
 */
#ifndef _EMU_MATH_H
#define _EMU_MATH_H

#define HUGE_VAL __builtin_huge_val()
#define INFINITY __builtin_inff()
#define NAN __builtin_nanf("")
#define M_E 2.7182818284590452354
#define M_LN2 0.69314718055994530942
#define M_LN10 2.30258509299404568402
#define M_PI 3.14159265358979323846
#define M_SQRT2 1.41421356237309504880
#define isnan(x) __builtin_isnan(x)
#define isinf(x) __builtin_isinf(x)
#define isfinite(x) __builtin_isfinite(x)
#define signbit(x) __builtin_signbit(x)

double fabs(double x);
double floor(double x);
double ceil(double x);
double trunc(double x);
double round(double x);
double sqrt(double x);
double fmod(double x, double y);
double fmin(double x, double y);
double fmax(double x, double y);
double frexp(double x, int *exp);
double ldexp(double x, int exp);
double modf(double x, double *whole);
double exp(double x);
double exp2(double x);
double log(double x);
double log2(double x);
double log10(double x);
double pow(double x, double y);
int ilogb(double x);

float fabsf(float x);
float floorf(float x);
float ceilf(float x);
float sqrtf(float x);
float log2f(float x);
float powf(float x, float y);

#endif
