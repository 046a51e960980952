// primes: written in its own change.
