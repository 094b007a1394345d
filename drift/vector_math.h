// Tight loops of the Kolmogorov-Smirnov p-value, in their own translation
// unit built with -ffast-math so GCC can call glibc's vector log and exp
// (libmvec). Nothing here sees a NaN or an infinity: callers keep every
// argument finite and positive.
#pragma once

#include <cstdint>

namespace featmon::drift::vector_math {

// values[i] = ln(values[i]) for i < count; values[i] > 0.
void LogInPlace(double* values, int64_t count);

// Terms of Birnbaum and Tingey's one-sided sum for v = first .. first+count-1:
//   exp(log_binomial[i] + ln x + (v - 1) ln(x + v/n) + (n - v) ln(1 - x - v/n)),
// every 1 - x - v/n > 0. Returns their sum; *max_term gets the largest.
double SmirnovTerms(const double* log_binomial, int64_t first, int64_t count, double n, double x, double* max_term);

}  // namespace featmon::drift::vector_math
