import { Faker, base, en, vi } from '@faker-js/faker';

/**
 * The one source of randomness of the generator. Everything draws from a single
 * seeded Faker in a fixed order, so the same seed yields the same data.
 */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [min, max]. */
  int(min: number, max: number): number;
  chance(probability: number): boolean;
  pick<T>(items: readonly T[]): T;
  shuffle<T>(items: readonly T[]): T[];
  /** A Vietnamese full name in Vietnamese order: family name first ("Nguyễn Thị Lan"). */
  personName(): string;
}

export function createRng(seed: number): Rng {
  const faker = new Faker({ locale: [vi, en, base] });
  faker.seed(seed);
  const next = () => faker.number.float({ min: 0, max: 1 });
  return {
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    chance: (probability) => next() < probability,
    pick: (items) => items[Math.floor(next() * items.length)],
    shuffle: (items) => faker.helpers.shuffle([...items]),
    // faker's vi pattern is "first last"; the vi first names already carry the middle name.
    personName: () => `${faker.person.lastName()} ${faker.person.firstName()}`,
  };
}

/** Picks indexes in proportion to `weights` in O(log n) per draw. */
export function weightedPicker(rng: Rng, weights: readonly number[]): () => number {
  const cumulative: number[] = [];
  let total = 0;
  for (const weight of weights) {
    total += weight;
    cumulative.push(total);
  }
  if (!(total > 0)) throw new Error(`weightedPicker needs a positive total weight, got ${total}`);
  return () => {
    const target = rng.next() * total;
    let lo = 0;
    let hi = cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid] > target) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  };
}

/** Splits `total` into `parts` counts that differ by at most one, larger ones first. */
export function evenSplit(total: number, parts: number): number[] {
  const share = Math.floor(total / parts);
  return Array.from({ length: parts }, (_, i) => share + (i < total % parts ? 1 : 0));
}
