#include "engine/shared_weights.h"

#include <cstring>
#include <iterator>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace ce {
namespace {

// 64-bit content hash: four independent multiply-xor lanes over 8-byte words (one pass at
// memory speed, ~10 GB/s), folded with the length. Equal hashes are confirmed with memcmp.
uint64_t content_hash(const void* p, size_t bytes) {
  constexpr uint64_t kMul = 0x9E3779B97F4A7C15ull;
  const unsigned char* s = static_cast<const unsigned char*>(p);
  uint64_t h[4] = {bytes, 0x243F6A8885A308D3ull, 0x13198A2E03707344ull, 0xA4093822299F31D0ull};
  size_t i = 0;
  for (; i + 32 <= bytes; i += 32)
    for (int l = 0; l < 4; ++l) {
      uint64_t w;
      std::memcpy(&w, s + i + 8 * l, 8);
      h[l] = (h[l] ^ w) * kMul;
      h[l] ^= h[l] >> 29;
    }
  for (; i < bytes; ++i) h[0] = (h[0] ^ s[i]) * kMul;
  uint64_t r = h[0];
  for (int l = 1; l < 4; ++l) r = (r ^ (h[l] + (r << 6) + (r >> 2))) * kMul;
  return r ^ (r >> 31);
}

struct Registry {
  std::mutex mu;
  std::unordered_multimap<uint64_t, std::weak_ptr<const Buffer>> live;
  size_t bytes = 0;
  uint64_t hits = 0, calls = 0;
};

// Never destroyed: buffers held by static objects may be released after main returns.
Registry& registry() {
  static Registry* r = new Registry;
  return *r;
}

}  // namespace

std::shared_ptr<const Buffer> share_weights(Buffer&& b) {
  const size_t nbytes = b.size() * sizeof(float);
  const uint64_t key = content_hash(b.data(), nbytes);
  Registry& reg = registry();
  // Buffers locked while looking, released after the mutex: if the last other owner drops one
  // meanwhile, its deleter (which takes the mutex) must not run under it.
  std::vector<std::shared_ptr<const Buffer>> seen;
  std::lock_guard<std::mutex> lock(reg.mu);
  ++reg.calls;
  auto range = reg.live.equal_range(key);
  for (auto it = range.first; it != range.second; ++it) {
    seen.push_back(it->second.lock());
    const std::shared_ptr<const Buffer>& other = seen.back();
    if (other && other->size() == b.size() &&
        (nbytes == 0 || std::memcmp(other->data(), b.data(), nbytes) == 0)) {
      ++reg.hits;
      return other;
    }
  }
  const Buffer* raw = new Buffer(std::move(b));
  std::shared_ptr<const Buffer> mine(raw, [key, nbytes](const Buffer* p) {
    Registry& r = registry();
    {
      std::lock_guard<std::mutex> l(r.mu);
      // Erase every expired entry under this key: this buffer's, and any other whose deleter
      // is about to run (it then finds nothing to erase).
      auto rg = r.live.equal_range(key);
      for (auto it = rg.first; it != rg.second;)
        it = it->second.expired() ? r.live.erase(it) : std::next(it);
      r.bytes -= nbytes;
    }
    delete p;
  });
  reg.live.emplace(key, mine);
  reg.bytes += nbytes;
  return mine;
}

SharedWeightsStats shared_weights_stats() {
  Registry& reg = registry();
  std::lock_guard<std::mutex> lock(reg.mu);
  SharedWeightsStats s;
  for (const auto& e : reg.live)
    if (!e.second.expired()) ++s.buffers;
  s.bytes = reg.bytes;
  s.hits = reg.hits;
  s.calls = reg.calls;
  return s;
}

}  // namespace ce
