#include "drift/statistics.h"

#include "drift/vector_math.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include <boost/math/special_functions/gamma.hpp>

namespace featmon::drift {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kPi = 3.14159265358979323846;

double Sum(std::span<const double> v) { return std::accumulate(v.begin(), v.end(), 0.0); }
double Clip01(double p) { return std::clamp(p, 0.0, 1.0); }

// ln(n! / n^n) by Stirling's series with n ln n taken out first (no
// cancellation); used where n > 140.
double LogFactorialOverPower(double n) {
  static constexpr double kCoefficients[] = {
      -2.955065359477124183e-2, 6.4102564102564102564e-3, -1.9175269175269175269e-3,
      8.4175084175084175084e-4, -5.952380952380952381e-4, 7.9365079365079365079e-4,
      -2.7777777777777777778e-3, 8.3333333333333333333e-2};
  double rn = 1.0 / n, x = rn / n, poly = 0;
  for (double c : kCoefficients) poly = poly * x + c;
  return std::log(n) / 2 - n + std::log(2 * kPi) / 2 + rn * poly;
}

// P(D_n <= d) by the Durbin matrix (Marsaglia, Tsang and Wang): the k-th
// diagonal entry of H^n times n!/n^n, with binary powering and explicit
// power-of-two scaling against overflow.
double DurbinMatrixCdf(int64_t n, double d) {
  double nd = static_cast<double>(n) * d;
  if (nd <= 0.5) return 0.0;
  int k = static_cast<int>(std::ceil(nd));
  double h = k - nd;
  int m = 2 * k - 1;
  std::vector<double> H(static_cast<size_t>(m) * m, 0.0), v(m), w(m);
  double fac = 1.0;
  for (int j = 1; j <= m; ++j) {
    w[j - 1] = fac;
    fac /= j;
    v[j - 1] = (1.0 - std::pow(h, j)) * fac;
  }
  v[m - 1] = (1.0 + std::pow(std::max(2 * h - 1.0, 0.0), m) - 2 * std::pow(h, m)) * fac;
  auto at = [m](std::vector<double>& a, int r, int c) -> double& { return a[static_cast<size_t>(r) * m + c]; };
  for (int i = 1; i < m; ++i)
    for (int r = i - 1; r < m; ++r) at(H, r, i) = w[r - (i - 1)];
  for (int r = 0; r < m; ++r) at(H, r, 0) = v[r];
  for (int c = 0; c < m; ++c) at(H, m - 1, c) = v[m - 1 - c];

  // Only entry (k, k) of H^n is needed, so the running product is kept as
  // row k alone (vector times matrix); only the squarings are full products.
  std::vector<double> row(m, 0.0), next_row(m), tmp(static_cast<size_t>(m) * m);
  row[k - 1] = 1.0;
  auto square = [&](std::vector<double>& a) {  // a = a * a
    std::fill(tmp.begin(), tmp.end(), 0.0);
    double* __restrict out = tmp.data();
    const double* __restrict in = a.data();
    for (int r = 0; r < m; ++r)
      for (int q = 0; q < m; ++q) {
        const double arq = in[static_cast<size_t>(r) * m + q];
        if (arq == 0) continue;
        double* __restrict out_row = out + static_cast<size_t>(r) * m;
        const double* __restrict in_row = in + static_cast<size_t>(q) * m;
        for (int c = 0; c < m; ++c) out_row[c] += arq * in_row[c];
      }
    a.swap(tmp);
  };
  auto times = [&](const std::vector<double>& b) {  // row = row * b
    std::fill(next_row.begin(), next_row.end(), 0.0);
    double* __restrict out = next_row.data();
    for (int q = 0; q < m; ++q) {
      const double rq = row[q];
      if (rq == 0) continue;
      const double* __restrict b_row = b.data() + static_cast<size_t>(q) * m;
      for (int c = 0; c < m; ++c) out[c] += rq * b_row[c];
    }
    row.swap(next_row);
  };
  const double kBig = std::ldexp(1.0, 128), kSmall = std::ldexp(1.0, -128);
  int64_t nn = n;
  int exponent = 0, h_exponent = 0;
  while (nn > 0) {
    if (nn % 2) {
      times(H);
      exponent += h_exponent;
    }
    nn /= 2;
    if (nn == 0) break;  // the last square would not be used
    square(H);
    h_exponent *= 2;
    if (std::fabs(at(H, k - 1, k - 1)) > kBig) {
      for (double& x : H) x /= kBig;
      h_exponent += 128;
    }
  }
  double p = row[k - 1];
  for (int64_t i = 1; i <= n; ++i) {
    p = static_cast<double>(i) * p / static_cast<double>(n);
    if (std::fabs(p) < kSmall) {
      p *= kBig;
      exponent -= 128;
    }
  }
  if (exponent != 0) p = std::ldexp(p, exponent);
  return Clip01(p);
}

// P(D_n <= x) by Pelz and Good's asymptotic series in 1/sqrt(n).
double PelzGoodCdf(int64_t n_int, double x) {
  if (x <= 0.0) return 0.0;
  if (x >= 1.0) return 1.0;
  const double n = static_cast<double>(n_int);
  const double z = std::sqrt(n) * x;
  const double z2 = z * z, z3 = z2 * z, z4 = z2 * z2, z6 = z4 * z2;
  const double pi2 = kPi * kPi, pi4 = pi2 * pi2, pi6 = pi4 * pi2;
  double qlog = -pi2 / 8 / z2;
  if (qlog < -708) return 0.0;
  double q = std::exp(qlog);

  const double k1a = -z2, k1b = pi2 / 4;
  const double k2a = 6 * z6 + 2 * z4, k2b = (2 * z4 - 5 * z2) * pi2 / 4, k2c = pi4 * (1 - 2 * z2) / 16;
  const double k3d = pi6 * (5 - 30 * z2) / 64, k3c = pi4 * (-60 * z2 + 212 * z4) / 16,
               k3b = pi2 * (135 * z4 - 96 * z6) / 4, k3a = -30 * z6 - 90 * z4 * z4;
  double K[4] = {0, 0, 0, 0};
  int maxk = static_cast<int>(std::ceil(16 * z / kPi));
  for (int k = maxk; k > 0; --k) {
    double mm = 2.0 * k - 1, m2 = mm * mm, m4 = m2 * m2, m6 = m4 * m2;
    double qpower = std::pow(q, 8.0 * k);
    double coeffs[4] = {1.0, k1a + k1b * m2, k2a + k2b * m2 + k2c * m4, k3a + k3b * m2 + k3c * m4 + k3d * m6};
    for (int i = 0; i < 4; ++i) K[i] = K[i] * qpower + coeffs[i];
  }
  const double sqrt2pi = std::sqrt(2 * kPi);
  double divisors[4] = {z, 6 * z4, 72 * z4 * z3, 6480 * z6 * z4};
  for (int i = 0; i < 4; ++i) K[i] = K[i] * q * sqrt2pi / divisors[i];

  q = std::exp(-pi2 / 2 / z2);
  double k2extra = 0, k3extra = 0;
  const double sqrt3z = std::sqrt(3.0) * z;
  for (int k = maxk; k > 0; --k) {
    double ks = k, ksq = ks * ks, qp = std::pow(q, ksq), kspi = kPi * ks;
    k2extra += ksq * qp;
    k3extra += (sqrt3z + kspi) * (sqrt3z - kspi) * ksq * qp;
  }
  K[2] += k2extra * pi2 * sqrt2pi / (-36 * z3);
  K[3] += k3extra * pi2 * sqrt2pi / (216 * z6);
  double total = 0;
  for (int i = 0; i < 4; ++i) total += K[i] / std::pow(n, i / 2.0);
  return total;
}

}  // namespace

double SmirnovSurvival(int64_t n, double x) {
  if (!(n > 0 && x >= 0.0 && x <= 1.0)) return kNaN;
  if (n == 1) return 1 - x;
  if (x == 0.0) return 1.0;
  if (x == 1.0) return 0.0;
  const long double nl = static_cast<long double>(n), xl = x;
  const long double nx = nl * xl;
  if (nx <= 1.0L) return Clip01(static_cast<double>(1.0L - xl * std::pow(1.0L + xl, nl - 1)));
  if (-2.0 * static_cast<double>(n) * x * x < -708.0) return 0.0;
  if (std::floor(nx) >= nl - 1) return Clip01(static_cast<double>(std::pow(1.0L - xl, nl)));
  if (n > 1'000'000) {  // scipy's approximation beyond its exact range
    double logp = -std::pow(6.0 * n * x + 1, 2) / 18.0 / n;
    return Clip01(logp < -std::log(2.0) ? std::exp(logp) : 1 + std::expm1(logp));
  }
  // Birnbaum-Tingey: sum over v of C(n,v) x (x + v/n)^(v-1) (1 - x - v/n)^(n-v).
  // The terms are positive and spread over most of 0..n(1-x), so this is
  // O(n), done in vectorised chunks (drift/vector_math.cpp). ln C(n, v)
  // advances by ln((n - v + 1) / v), re-anchored on lgamma every 256 terms so
  // rounding cannot accumulate.
  const double n_d = static_cast<double>(n);
  int64_t last = static_cast<int64_t>(std::floor(n_d * (1.0 - x)));
  while (last >= 0 && 1.0 - x - static_cast<double>(last) / n_d <= 0) --last;  // that term is 0
  const double log_n_factorial = std::lgamma(n_d + 1);
  constexpr int64_t kChunk = 512;
  double log_binomials[kChunk], ratios[kChunk];
  double sum = 0, log_binomial = 0;
  for (int64_t first = 0; first <= last; first += kChunk) {
    const int64_t count = std::min(kChunk, last - first + 1);
    for (int64_t i = 0; i < count; ++i) {
      const double v = static_cast<double>(first + i);
      ratios[i] = v > 0 ? (n_d - v + 1) / v : 1.0;
    }
    vector_math::LogInPlace(ratios, count);
    for (int64_t i = 0; i < count; ++i) {
      const int64_t v = first + i;
      if (v % 256 == 0) {
        const double v_d = static_cast<double>(v);
        log_binomial = log_n_factorial - std::lgamma(v_d + 1) - std::lgamma(n_d - v_d + 1);
      } else {
        log_binomial += ratios[i];
      }
      log_binomials[i] = log_binomial;
    }
    double largest = 0;
    sum += vector_math::SmirnovTerms(log_binomials, first, count, n_d, x, &largest);
    // What is left cannot move the sum: every remaining term is below the
    // largest of this chunk once the terms are falling.
    const int64_t remaining = last - (first + count - 1);
    if (first > 0 && 4.0 * static_cast<double>(remaining) * largest < 1e-17 * sum) break;
  }
  return Clip01(sum);
}

double KolmogorovSurvival(int64_t n, double x) {
  if (n <= 0 || std::isnan(x)) return kNaN;
  if (x >= 1.0) return 0.0;
  if (x <= 0.0) return 1.0;
  const double nd = static_cast<double>(n);
  const double t = nd * x;
  if (t <= 1.0) {  // Ruben-Gambino
    if (t <= 0.5) return 1.0;
    double prob;
    if (n <= 140) {
      prob = 1.0;
      for (int64_t i = 1; i <= n; ++i) prob *= static_cast<double>(i) * (1.0 / nd) * (2 * t - 1);
    } else {
      prob = std::exp(LogFactorialOverPower(nd) + nd * std::log(2 * t - 1));
    }
    return Clip01(1.0 - prob);
  }
  if (t >= nd - 1) return Clip01(2 * std::pow(1.0 - x, nd));
  if (x >= 0.5) return Clip01(2 * SmirnovSurvival(n, x));
  const double nxsquared = t * x;
  if (n <= 140) {
    // scipy uses the Pomeranz recursion for 0.754693 < n x^2 <= 4; the
    // Durbin matrix computes the same exact probability.
    if (nxsquared <= 4) return Clip01(1.0 - DurbinMatrixCdf(n, x));
    return Clip01(2 * SmirnovSurvival(n, x));
  }
  if (nxsquared >= 370.0) return 0.0;
  if (nxsquared >= 2.2) return Clip01(2 * SmirnovSurvival(n, x));
  double cdf;
  if (nxsquared >= 18.0) {
    cdf = 1.0;
  } else if (n <= 100000 && nd * std::pow(x, 1.5) <= 1.4) {
    cdf = DurbinMatrixCdf(n, x);
  } else {
    cdf = PelzGoodCdf(n, x);
  }
  return Clip01(1.0 - cdf);
}

double PopulationStabilityIndex(std::span<const double> reference, std::span<const double> current) {
  double nr = Sum(reference), nc = Sum(current);
  if (nr <= 0 || nc <= 0 || reference.size() != current.size()) return kNaN;
  double psi = 0;
  for (size_t i = 0; i < reference.size(); ++i) {
    double r = reference[i] / nr, c = current[i] / nc;
    if (r == 0) r = kPsiEmptyBinShare;
    if (c == 0) c = kPsiEmptyBinShare;
    psi += (c - r) * std::log(c / r);
  }
  return psi;
}

TestResult KolmogorovSmirnov(std::span<const double> reference, std::span<const double> current) {
  double n1 = Sum(reference), n2 = Sum(current);
  if (n1 <= 0 || n2 <= 0 || reference.size() != current.size()) return {kNaN, kNaN};
  // Both empirical CDFs at every bin that holds data, as ks_2samp evaluates
  // them at every observed value (ties included).
  double cum1 = 0, cum2 = 0, max_diff = 0, min_diff = 0;
  for (size_t i = 0; i < reference.size(); ++i) {
    cum1 += reference[i];
    cum2 += current[i];
    if (reference[i] == 0 && current[i] == 0) continue;
    double diff = cum1 / n1 - cum2 / n2;
    max_diff = std::max(max_diff, diff);
    min_diff = std::min(min_diff, diff);
  }
  double d = std::max(max_diff, std::clamp(-min_diff, 0.0, 1.0));
  double m = std::max(n1, n2), n = std::min(n1, n2);
  double en = m * n / (m + n);
  return {d, KolmogorovSurvival(static_cast<int64_t>(std::nearbyint(en)), d)};
}

double JensenShannonDistance(std::span<const double> reference, std::span<const double> current) {
  double nr = Sum(reference), nc = Sum(current);
  if (nr <= 0 || nc <= 0 || reference.size() != current.size()) return kNaN;
  double left = 0, right = 0;
  for (size_t i = 0; i < reference.size(); ++i) {
    double p = reference[i] / nr, q = current[i] / nc, m = (p + q) / 2;
    if (p > 0) left += p * std::log(p / m);
    if (q > 0) right += q * std::log(q / m);
  }
  double js = (left + right) / std::log(2.0);
  return std::sqrt(std::max(js, 0.0) / 2);
}

double WassersteinNormed(std::span<const double> reference_means, std::span<const double> reference_counts,
                         std::span<const double> current_means, std::span<const double> current_counts,
                         double reference_std) {
  struct Point {
    double value;
    double u_weight, v_weight;
  };
  thread_local std::vector<Point> points;  // reused: evaluations call this for every feature
  points.clear();
  double nu = 0, nv = 0;
  for (size_t i = 0; i < reference_counts.size(); ++i)
    if (reference_counts[i] > 0) {
      points.push_back({reference_means[i], reference_counts[i], 0});
      nu += reference_counts[i];
    }
  for (size_t i = 0; i < current_counts.size(); ++i)
    if (current_counts[i] > 0) {
      points.push_back({current_means[i], 0, current_counts[i]});
      nv += current_counts[i];
    }
  if (nu <= 0 || nv <= 0) return kNaN;
  // The order among equal values does not matter: the gap between them is 0.
  std::sort(points.begin(), points.end(), [](const Point& a, const Point& b) { return a.value < b.value; });
  // Integral of |U(x) - V(x)| between consecutive values.
  double cu = 0, cv = 0, distance = 0;
  for (size_t i = 0; i + 1 < points.size(); ++i) {
    cu += points[i].u_weight;
    cv += points[i].v_weight;
    distance += std::fabs(cu / nu - cv / nv) * (points[i + 1].value - points[i].value);
  }
  return distance / std::max(reference_std, 0.001);
}

double Hellinger(std::span<const double> reference, std::span<const double> current) {
  double nr = Sum(reference), nc = Sum(current);
  if (nr <= 0 || nc <= 0 || reference.size() != current.size()) return kNaN;
  double sum = 0;
  for (size_t i = 0; i < reference.size(); ++i) {
    double d = std::sqrt(reference[i] / nr) - std::sqrt(current[i] / nc);
    sum += d * d;
  }
  return std::sqrt(sum) / std::sqrt(2.0);
}

TestResult ChiSquared(std::span<const double> reference, std::span<const double> current) {
  double nr = Sum(reference), nc = Sum(current);
  if (nr <= 0 || nc <= 0 || reference.size() != current.size()) return {kNaN, kNaN};
  std::vector<size_t> columns;
  for (size_t i = 0; i < reference.size(); ++i)
    if (reference[i] + current[i] > 0) columns.push_back(i);
  const size_t dof = columns.size() - 1;
  if (dof == 0) return {0.0, 1.0};
  const double total = nr + nc;
  double statistic = 0;
  for (size_t i : columns) {
    double column = reference[i] + current[i];
    for (int row = 0; row < 2; ++row) {
      double observed = row == 0 ? reference[i] : current[i];
      double expected = (row == 0 ? nr : nc) * column / total;
      if (dof == 1) {  // Yates: move each observation half a count towards its expectation
        double diff = expected - observed;
        observed += std::copysign(std::min(0.5, std::fabs(diff)), diff) * (diff == 0 ? 0 : 1);
      }
      double delta = observed - expected;
      statistic += delta * delta / expected;
    }
  }
  double p = boost::math::gamma_q(static_cast<double>(dof) / 2, statistic / 2);
  return {statistic, p};
}

double LInfinity(std::span<const double> reference, std::span<const double> current) {
  double nr = Sum(reference), nc = Sum(current);
  if (nr <= 0 || nc <= 0 || reference.size() != current.size()) return kNaN;
  double worst = 0;
  for (size_t i = 0; i < reference.size(); ++i) worst = std::max(worst, std::fabs(reference[i] / nr - current[i] / nc));
  return worst;
}

std::vector<double> BenjaminiHochberg(std::span<const double> p_values) {
  const size_t m = p_values.size();
  std::vector<size_t> order(m);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return p_values[a] < p_values[b]; });
  std::vector<double> adjusted(m);
  double running = 1.0;
  for (size_t rank = m; rank > 0; --rank) {
    size_t i = order[rank - 1];
    running = std::min(running, p_values[i] * static_cast<double>(m) / static_cast<double>(rank));
    adjusted[i] = std::min(running, 1.0);
  }
  return adjusted;
}

}  // namespace featmon::drift
