//===- FastTable.h - Insert-only map with lock-free reads -------*- C++ -*-===//
//
// The warm path of a forward call looks up two small maps: the handle's
// dispatch choices (packed problem class -> KernelChoice) and each choice's
// loaded functions (context id -> BoundKernel). Both are read on every call
// from many threads and written a handful of times, so readers take no lock
// at all:
//
//  * a table is an open-addressing array of (key, value) slots; a writer
//    (serialized by a mutex) stores the value, then publishes the key with a
//    release store; a reader that acquires the key therefore sees the value;
//  * slots are never removed or overwritten; a table that would pass 3/4 full
//    is copied into one twice its size, which is then published through an
//    atomic pointer; clear() publishes an empty table;
//  * replaced tables are retired, not freed, until the map dies, so a reader
//    still probing an old table stays safe.
//
// Keys are non-zero 64-bit integers (0 marks an empty slot). Values are
// borrowed pointers: their owner must outlive the map's readers.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHCORE_RUNTIME_FASTTABLE_H
#define FLASHCORE_RUNTIME_FASTTABLE_H

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

namespace flashcore {

template <typename T> class InsertOnlyMap {
public:
  explicit InsertOnlyMap(size_t initialCapacity = 16) {
    size_t capacity = 8;
    while (capacity < initialCapacity)
      capacity *= 2;
    publish(std::make_unique<Table>(capacity));
  }
  InsertOnlyMap(const InsertOnlyMap &) = delete;
  InsertOnlyMap &operator=(const InsertOnlyMap &) = delete;

  /// Lock-free. Null when absent.
  T *find(uint64_t key) const {
    const Table *t = current.load(std::memory_order_acquire);
    for (size_t i = mix(key) & t->mask;; i = (i + 1) & t->mask) {
      uint64_t k = t->slots[i].key.load(std::memory_order_acquire);
      if (k == key)
        return t->slots[i].value.load(std::memory_order_relaxed);
      if (k == 0)
        return nullptr;
    }
  }

  /// Inserts unless `key` is present; returns the value now mapped (the
  /// existing one if another thread won). `key` must be non-zero.
  T *insert(uint64_t key, T *value) {
    std::lock_guard<std::mutex> lock(writeMutex);
    Table *t = current.load(std::memory_order_relaxed);
    if (T *existing = find(key))
      return existing;
    if ((t->count + 1) * 4 > (t->mask + 1) * 3) {
      auto bigger = std::make_unique<Table>((t->mask + 1) * 2);
      for (size_t i = 0; i <= t->mask; ++i)
        if (uint64_t k = t->slots[i].key.load(std::memory_order_relaxed))
          put(*bigger, k, t->slots[i].value.load(std::memory_order_relaxed));
      t = publish(std::move(bigger));
    }
    put(*t, key, value);
    return value;
  }

  /// Forgets every key (readers of the old table are unaffected).
  void clear() {
    std::lock_guard<std::mutex> lock(writeMutex);
    size_t capacity = current.load(std::memory_order_relaxed)->mask + 1;
    publish(std::make_unique<Table>(capacity < 16 ? capacity : 16));
  }

  size_t size() const {
    std::lock_guard<std::mutex> lock(writeMutex);
    return current.load(std::memory_order_relaxed)->count;
  }

private:
  struct Slot {
    std::atomic<uint64_t> key{0};
    std::atomic<T *> value{nullptr};
  };
  struct Table {
    explicit Table(size_t capacity)
        : mask(capacity - 1), slots(new Slot[capacity]) {}
    size_t mask;
    size_t count = 0;
    std::unique_ptr<Slot[]> slots;
  };

  /// splitmix64's finalizer: spreads nearby keys over the table.
  static uint64_t mix(uint64_t x) {
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
  }

  static void put(Table &t, uint64_t key, T *value) {
    size_t i = mix(key) & t.mask;
    while (t.slots[i].key.load(std::memory_order_relaxed) != 0)
      i = (i + 1) & t.mask;
    t.slots[i].value.store(value, std::memory_order_relaxed);
    t.slots[i].key.store(key, std::memory_order_release);
    ++t.count;
  }

  Table *publish(std::unique_ptr<Table> table) {
    Table *raw = table.get();
    tables.push_back(std::move(table));
    current.store(raw, std::memory_order_release);
    return raw;
  }

  std::atomic<Table *> current{nullptr};
  mutable std::mutex writeMutex;
  std::vector<std::unique_ptr<Table>> tables;
};

} // namespace flashcore

#endif // FLASHCORE_RUNTIME_FASTTABLE_H
