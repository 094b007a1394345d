#include "drift/vector_math.h"

#include <algorithm>
#include <cmath>

namespace featmon::drift::vector_math {

// One copy per instruction set, picked at load time: 2, 4 or 8 lanes.
#define FEATMON_VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))

FEATMON_VECTOR_CLONES void LogInPlace(double* values, int64_t count) {
#pragma omp simd
  for (int64_t i = 0; i < count; ++i) values[i] = std::log(values[i]);
}

FEATMON_VECTOR_CLONES double SmirnovTerms(const double* log_binomial, int64_t first, int64_t count, double n, double x, double* max_term) {
  const double log_x = std::log(x), first_v = static_cast<double>(first);
  double sum = 0, largest = 0;
  // A double induction variable: SSE2 has no vector int64 -> double conversion.
  double v = first_v;
#pragma omp simd reduction(+ : sum) reduction(max : largest)
  for (int64_t i = 0; i < count; ++i) {
    const double term =
        std::exp(log_binomial[i] + log_x + (v - 1) * std::log(x + v / n) + (n - v) * std::log(1.0 - x - v / n));
    sum += term;
    largest = largest > term ? largest : term;
    v += 1.0;
  }
  *max_term = largest;
  return sum;
}

}  // namespace featmon::drift::vector_math
