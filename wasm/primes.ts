// primes: a segmented sieve of Eratosthenes over odd numbers, counting primes and twin
// primes per block of a unit (see src/kernels/primes.ts for the output format).
//
// Bit i of the sieve stands for the odd number base + 2i + 1, where base = lo rounded down
// to even; a set bit means composite. Segments of kSegmentBits bits (16 KiB, to stay in L1
// while crossing off) are sieved in order. Base primes below kSegmentBits ("small") keep
// their next bit offset from one segment to the next; larger ones hit a segment at most
// once and wait in a bucket for the segment of their next multiple: the bucket sieve of
// T. Oliveira e Silva ("Fast implementation of the segmented sieve of Eratosthenes",
// sweet.ua.pt/tos/software/prime_sieve.html), as primesieve uses it too. Without
// buckets, a unit near 2^53 would visit all 5.4 million base primes in every segment.
//
// The state lives in this instance between calls, so the host can count a few blocks per
// call; a call that does not continue where the last one stopped repositions the sieve.

const kSegmentShift: u32 = 17;
const kSegmentBits: u32 = 1 << kSegmentShift;
const kSegmentBytes: u32 = kSegmentBits >> 3;
const kSegmentWords: u32 = kSegmentBits >> 6;
// A large prime's next multiple is at most (kSegmentBits + p) / kSegmentBits < 1 + 2^27 / 2^17
// segments ahead (1.5·p / kSegmentBits at the first placement), so 2048 buckets never wrap.
const kBuckets: u32 = 2048;
// A bucket is a list of chunks: [next chunk: u32][entries: u32] then (prime, bit) pairs.
const kChunkEntries: u32 = 255;
const kChunkBytes: u32 = 8 + kChunkEntries * 8;

let base: u64 = 0;
let rangeLo: u64 = 0;
let rangeHi: u64 = 0;
let blockSize: u64 = 0;
let blockCount: u32 = 0;

let primeList: usize = 0;
let primeCount: u32 = 0;
let smallCount: u32 = 0;
let smallOffsets: usize = 0;
let bucketHeads: usize = 0;
let chunkPool: usize = 0;
let chunkCount: u32 = 0;
let freeChunks: usize = 0;

let current: usize = 0;
let ahead: usize = 0;
let currentSegment: i64 = -1;
let aheadSegment: i64 = -1;
// The segment the small offsets and the buckets are positioned for.
let stateSegment: i64 = -1;

let counts: usize = 0;

/**
 * Starts a run over [lo, hi) in blocks of `size` numbers: sieves the base primes up to
 * ⌊√(hi + 1)⌋, allocates the sieve and positions it at block `firstBlock`. lo and hi are
 * integers below 2^53, passed as f64. Returns the address of the output, two u32 per
 * block, for the host to read and to restore finished blocks into.
 */
export function primesInit(lo: f64, hi: f64, size: u32, firstBlock: u32): usize {
  rangeLo = <u64>lo;
  rangeHi = <u64>hi;
  base = rangeLo & ~(<u64>1);
  blockSize = <u64>size;
  blockCount = <u32>((rangeHi - rangeLo + blockSize - 1) / blockSize);
  counts = heap.alloc(<usize>blockCount * 8);
  memory.fill(counts, 0, <usize>blockCount * 8);

  sieveBasePrimes(isqrt(rangeHi + 1));
  smallOffsets = heap.alloc(<usize>smallCount * 4 + 4);
  bucketHeads = heap.alloc(kBuckets * 4);
  // Every large prime sits in one bucket; each bucket has at most one chunk partly full,
  // and the chunk being read is freed only after its last entry moves.
  chunkCount = (primeCount - smallCount + kChunkEntries - 1) / kChunkEntries + kBuckets + 2;
  chunkPool = heap.alloc(<usize>chunkCount * kChunkBytes);
  current = heap.alloc(kSegmentBytes);
  ahead = heap.alloc(kSegmentBytes);
  currentSegment = -1;
  aheadSegment = -1;
  if (firstBlock < blockCount) reposition(<i64>(blockStartBit(firstBlock) >> kSegmentShift));
  return counts;
}

/** Counts blocks [first, end) into the output. */
export function primesCountBlocks(first: u32, end: u32): void {
  for (let block = first; block < end; block++) {
    let bit = blockStartBit(block);
    const start = rangeLo + <u64>block * blockSize;
    const stop = min(rangeHi, start + blockSize);
    const stopBit = (stop - base) >> 1;
    let primes: u32 = 0;
    let twins: u32 = 0;
    while (bit < stopBit) {
      const segment = <i64>(bit >> kSegmentShift);
      const segmentStart = <u64>segment << kSegmentShift;
      const segmentEnd = segmentStart + kSegmentBits;
      const to = min(stopBit, segmentEnd);
      const bits = segmentBits(segment);
      // The last bit's twin partner is the first bit of the next segment.
      const following = to == segmentEnd ? load<u64>(segmentAhead(segment + 1)) : 0;
      const both = countRange(bits, <u32>(bit - segmentStart), <u32>(to - segmentStart), following);
      primes += <u32>(both & 0xffffffff);
      twins += <u32>(both >> 32);
      bit = to;
    }
    // The sieve holds odd numbers only: 2 is counted here (it has no twin, 4 is composite).
    if (start <= 2 && stop > 2) primes++;
    store<u32>(counts + (<usize>block << 3), primes);
    store<u32>(counts + (<usize>block << 3) + 4, twins);
  }
}

/** The first bit of a block: its first odd number is base + 2·bit + 1. */
function blockStartBit(block: u32): u64 {
  return (rangeLo + <u64>block * blockSize - base) >> 1;
}

/** The bits of a segment, sieved, made the current one (moving on from the one before). */
function segmentBits(segment: i64): usize {
  if (segment == currentSegment) return current;
  if (segment == aheadSegment) {
    const spare = current;
    current = ahead;
    ahead = spare;
  } else {
    sieveInto(current, segment);
  }
  currentSegment = segment;
  aheadSegment = -1;
  return current;
}

/** The bits of the segment after the current one, sieved ahead; the current one stays. */
function segmentAhead(segment: i64): usize {
  if (segment != aheadSegment) {
    sieveInto(ahead, segment);
    aheadSegment = segment;
  }
  return ahead;
}

function sieveInto(bits: usize, segment: i64): void {
  if (stateSegment != segment) reposition(segment);
  sieveSegment(bits, segment);
}

/** Primes (low word) and twins (high word) among bits [from, to) of a segment. */
function countRange(bits: usize, from: u32, to: u32, following: u64): u64 {
  let primes: u64 = 0;
  let twins: u64 = 0;
  if (from >= to) return 0;
  const firstWord = from >> 6;
  const lastWord = (to - 1) >> 6;
  for (let word = firstWord; word <= lastWord; word++) {
    const composite = load<u64>(bits + (<usize>word << 3));
    const next = word + 1 < kSegmentWords ? load<u64>(bits + (<usize>(word + 1) << 3)) : following;
    let mask: u64 = ~(<u64>0);
    if (word == firstWord) mask &= ~(<u64>0) << (from & 63);
    if (word == lastWord && (to & 63) != 0) mask &= (<u64>1 << (to & 63)) - 1;
    const prime = ~composite & mask;
    primes += popcnt<u64>(prime);
    twins += popcnt<u64>(prime & ~((composite >> 1) | (next << 63)));
  }
  return primes | (twins << 32);
}

/** Sieves `segment` into `bits`; the small offsets and buckets must be positioned for it. */
function sieveSegment(bits: usize, segment: i64): void {
  memory.fill(bits, 0, kSegmentBytes);
  for (let k: u32 = 0; k < smallCount; k++) {
    const p = load<u32>(primeList + (<usize>k << 2));
    let i = load<u32>(smallOffsets + (<usize>k << 2));
    for (; i < kSegmentBits; i += p) store<u8>(bits + (i >> 3), load<u8>(bits + (i >> 3)) | (<u8>1 << <u8>(i & 7)));
    store<u32>(smallOffsets + (<usize>k << 2), i - kSegmentBits);
  }
  const bucket = <u32>(segment & (kBuckets - 1));
  let chunk = load<u32>(bucketHeads + (bucket << 2));
  store<u32>(bucketHeads + (bucket << 2), 0);
  while (chunk != 0) {
    const entries = load<u32>(chunk + 4);
    for (let e: u32 = 0; e < entries; e++) {
      const p = load<u32>(chunk + 8 + (e << 3));
      const i = load<u32>(chunk + 12 + (e << 3));
      store<u8>(bits + (i >> 3), load<u8>(bits + (i >> 3)) | (<u8>1 << <u8>(i & 7)));
      const next = i + p;
      bucketPush(<u32>((segment + <i64>(next >> kSegmentShift)) & (kBuckets - 1)), p, next & (kSegmentBits - 1));
    }
    const older = load<u32>(chunk);
    store<u32>(chunk, <u32>freeChunks);
    freeChunks = chunk;
    chunk = older;
  }
  // 1 is not prime; it is bit 0 of segment 0 when the range starts at 0 or 1.
  if (segment == 0 && base == 0) store<u8>(bits, load<u8>(bits) | 1);
  stateSegment = segment + 1;
}

function bucketPush(bucket: u32, p: u32, bit: u32): void {
  let head = load<u32>(bucketHeads + (bucket << 2));
  if (head == 0 || load<u32>(head + 4) == kChunkEntries) {
    const fresh = <u32>freeChunks;
    freeChunks = load<u32>(fresh);
    store<u32>(fresh, head);
    store<u32>(fresh + 4, 0);
    store<u32>(bucketHeads + (bucket << 2), fresh);
    head = fresh;
  }
  const entries = load<u32>(head + 4);
  store<u32>(head + 8 + (entries << 3), p);
  store<u32>(head + 12 + (entries << 3), bit);
  store<u32>(head + 4, entries + 1);
}

/**
 * The bit offset, from the segment whose first number is x (odd), of the first odd multiple
 * of p to cross off: the first one ≥ x, but never p itself (3p when x ≤ p). Crossing off from
 * 3p rather than p² only repeats composites, and keeps every offset below 1.5·p.
 */
function firstMultiple(x: u64, p: u32): u64 {
  if (x <= <u64>p) return (<u64>3 * p - x) >> 1;
  let gap = <u32>((<u64>p - x % p) % p);
  if (gap & 1) gap += p;
  return <u64>(gap >> 1);
}

/** Sets the small offsets and refills the buckets for sieving `segment` next. */
function reposition(segment: i64): void {
  const x = base + (<u64>segment << (kSegmentShift + 1)) + 1;
  for (let k: u32 = 0; k < smallCount; k++) {
    store<u32>(smallOffsets + (<usize>k << 2), <u32>firstMultiple(x, load<u32>(primeList + (<usize>k << 2))));
  }
  memory.fill(bucketHeads, 0, kBuckets * 4);
  freeChunks = 0;
  for (let c: u32 = chunkCount; c > 0; c--) {
    const chunk = chunkPool + <usize>(c - 1) * kChunkBytes;
    store<u32>(chunk, <u32>freeChunks);
    freeChunks = chunk;
  }
  for (let k = smallCount; k < primeCount; k++) {
    const p = load<u32>(primeList + (<usize>k << 2));
    const offset = firstMultiple(x, p);
    bucketPush(<u32>((segment + <i64>(offset >> kSegmentShift)) & (kBuckets - 1)), p, <u32>(offset & (kSegmentBits - 1)));
  }
  stateSegment = segment;
}

function isqrt(n: u64): u32 {
  let root = <u64>Math.sqrt(<f64>n);
  while (root * root > n) root--;
  while ((root + 1) * (root + 1) <= n) root++;
  return <u32>root;
}

/**
 * The odd primes ≤ limit into primeList (limit < 2^27), by a byte sieve of odd numbers in
 * 32 KiB segments with the primes up to √limit; sets primeCount and smallCount.
 */
function sieveBasePrimes(limit: u32): void {
  // π(x) < 1.25506·x / ln x for x > 1 (Rosser and Schoenfeld, 1962).
  const bound = <u32>(1.25506 * <f64>limit / Math.log(<f64>max<u32>(limit, 3))) + 4;
  primeList = heap.alloc(<usize>bound * 4);
  primeCount = 0;
  const root = isqrt(<u64>limit);
  const tiny = heap.alloc(root + 2);
  memory.fill(tiny, 0, root + 2);
  const segmentLength: u32 = 1 << 15;
  const segment = heap.alloc(segmentLength);
  // Index j of a segment stands for start + 2j.
  for (let start: u32 = 3; start <= limit; start += 2 * segmentLength) {
    const length = min<u32>(segmentLength, (limit - start) / 2 + 1);
    memory.fill(segment, 0, length);
    for (let p: u32 = 3; p * p < start + 2 * length; p += 2) {
      if (load<u8>(tiny + p)) continue;
      // The first odd multiple of p at or above max(p², start).
      let first = max<u32>(p * p, start + ((p - (start % p)) % p));
      if ((first & 1) == 0) first += p;
      for (let j = (first - start) >> 1; j < length; j += p) store<u8>(segment + j, 1);
    }
    for (let j: u32 = 0; j < length; j++) {
      if (load<u8>(segment + j)) continue;
      const n = start + 2 * j;
      store<u32>(primeList + (<usize>primeCount << 2), n);
      primeCount++;
      if (n < kSegmentBits) smallCount = primeCount;
      if (n <= root) for (let m = n * n; m <= root; m += 2 * n) store<u8>(tiny + m, 1);
    }
  }
}
