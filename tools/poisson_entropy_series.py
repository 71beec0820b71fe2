"""Derive the asymptotic series of the Poisson entropy in exact rational arithmetic.

    H(rate) = 1/2 log(2 pi e rate) + sum_{m >= 1} c_m rate^-m

Derivation. With K ~ Poisson(rate), H = rate - rate log(rate) + E[log K!]. Expand
g(k) = log Gamma(k + 1) in a Taylor series about the rate, E g(K) = sum_n g^(n)(rate) mu_n / n!,
where mu_n are the central moments of the Poisson (polynomials in the rate, from the
recurrence mu_{n+1} = rate (d mu_n / d rate + n mu_{n-1})). Stirling's series gives g and,
for n >= 2, derivatives that are Laurent polynomials in the rate, so everything after the
logarithmic leading part is exact rational arithmetic. The first three coefficients,
-1/12, -1/24, -19/360, are the known ones; mlmath._special uses ten.

Run: python tools/poisson_entropy_series.py
"""

from __future__ import annotations

from fractions import Fraction
from math import comb, factorial

ORDER = 12  # coefficients c_1 .. c_ORDER


def bernoulli_numbers(count: int) -> list[Fraction]:
    """B_0 .. B_count from sum_{k<=m} C(m+1, k) B_k = 0 (B_1 = -1/2)."""
    numbers = [Fraction(1)]
    for m in range(1, count + 1):
        numbers.append(-sum(comb(m + 1, k) * numbers[k] for k in range(m)) / (m + 1))
    return numbers


def add(a: dict, b: dict, scale: Fraction = Fraction(1)) -> dict:
    out = dict(a)
    for power, coefficient in b.items():
        out[power] = out.get(power, Fraction(0)) + scale * coefficient
    return out


def multiply(a: dict, b: dict) -> dict:
    out: dict = {}
    for power_a, coefficient_a in a.items():
        for power_b, coefficient_b in b.items():
            power = power_a + power_b
            out[power] = out.get(power, Fraction(0)) + coefficient_a * coefficient_b
    return out


def derivative(a: dict) -> dict:
    return {power - 1: coefficient * power for power, coefficient in a.items() if power != 0}


def coefficients(order: int = ORDER) -> list[Fraction]:
    terms = order + 2
    highest_moment = 2 * order + 4
    bernoulli = bernoulli_numbers(2 * terms)
    # g''(x) = 1/x - 1/(2 x^2) + second derivatives of the Bernoulli terms of Stirling's series
    second = {-1: Fraction(1), -2: Fraction(-1, 2)}
    for j in range(1, terms + 1):
        m = 2 * j - 1
        coefficient = bernoulli[2 * j] / (2 * j * (2 * j - 1))
        second = add(second, {-(m + 2): coefficient * m * (m + 1)})
    moments = [{0: Fraction(1)}, {}]
    for n in range(1, highest_moment):
        moments.append(multiply({1: Fraction(1)}, add(derivative(moments[n]), moments[n - 1], n)))
    # remainder H - 1/2 log(2 pi e rate): -1/2 + Bernoulli terms of g + sum_{n>=2} g^(n) mu_n / n!
    remainder = {0: Fraction(-1, 2)}
    for j in range(1, terms + 1):
        remainder = add(remainder, {1 - 2 * j: bernoulli[2 * j] / (2 * j * (2 * j - 1))})
    nth = second
    for n in range(2, highest_moment + 1):
        remainder = add(remainder, multiply(nth, moments[n]), Fraction(1, factorial(n)))
        nth = derivative(nth)
    assert all(v == 0 for p, v in remainder.items() if p >= 0), "non-vanishing leading terms"
    return [remainder.get(-m, Fraction(0)) for m in range(1, order + 1)]


if __name__ == "__main__":
    for m, coefficient in enumerate(coefficients(), start=1):
        print(f"c_{m} = {coefficient}  ({float(coefficient):.6g})")
