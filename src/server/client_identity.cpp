#include "server/client_identity.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstring>

#include "common/error.hpp"

namespace qembed::server {

namespace {

constexpr std::array<uint8_t, 12> kMappedPrefix = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::optional<IpBytes> parse_ipv4(std::string_view text) {
  char buf[INET_ADDRSTRLEN];
  if (text.empty() || text.size() >= sizeof buf) return std::nullopt;
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  uint8_t v4[4];
  if (inet_pton(AF_INET, buf, v4) != 1) return std::nullopt;
  IpBytes ip{};
  std::copy(kMappedPrefix.begin(), kMappedPrefix.end(), ip.begin());
  std::copy(v4, v4 + 4, ip.begin() + 12);
  return ip;
}

std::optional<IpBytes> parse_ipv6(std::string_view text) {
  if (size_t zone = text.find('%'); zone != std::string_view::npos) text = text.substr(0, zone);
  char buf[INET6_ADDRSTRLEN];
  if (text.empty() || text.size() >= sizeof buf) return std::nullopt;
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  IpBytes ip{};
  if (inet_pton(AF_INET6, buf, ip.data()) != 1) return std::nullopt;
  return ip;
}

}  // namespace

std::optional<IpBytes> parse_ip(std::string_view text) {
  if (text.find(':') != std::string_view::npos) return parse_ipv6(text);
  return parse_ipv4(text);
}

bool is_mapped_ipv4(const IpBytes& ip) { return std::equal(kMappedPrefix.begin(), kMappedPrefix.end(), ip.begin()); }

std::string ip_to_string(const IpBytes& ip) {
  char buf[INET6_ADDRSTRLEN];
  const bool v4 = is_mapped_ipv4(ip);
  if (!inet_ntop(v4 ? AF_INET : AF_INET6, v4 ? ip.data() + 12 : ip.data(), buf, sizeof buf)) return "?";
  return buf;
}

bool IpRange::contains(const IpBytes& ip) const {
  const int full = prefix_bits / 8, rest = prefix_bits % 8;
  if (!std::equal(base.begin(), base.begin() + full, ip.begin())) return false;
  if (rest == 0) return true;
  const auto mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (base[full] & mask) == (ip[full] & mask);
}

std::optional<IpRange> parse_ip_range(std::string_view text) {
  text = trim(text);
  const size_t slash = text.find('/');
  const std::optional<IpBytes> base = parse_ip(text.substr(0, slash));
  if (!base) return std::nullopt;
  const bool v4 = text.substr(0, slash).find(':') == std::string_view::npos;
  IpRange r{*base, 128};
  if (slash != std::string_view::npos) {
    const std::string_view bits = text.substr(slash + 1);
    int n = -1;
    const auto [end, ec] = std::from_chars(bits.data(), bits.data() + bits.size(), n);
    if (bits.empty() || ec != std::errc() || end != bits.data() + bits.size() || n < 0 || n > (v4 ? 32 : 128)) {
      return std::nullopt;
    }
    r.prefix_bits = v4 ? 96 + n : n;
  }
  return r;
}

TrustedProxies::TrustedProxies(const std::vector<std::string>& specs, const std::string& flag) {
  for (const std::string& spec : specs) {
    std::optional<IpRange> r = parse_ip_range(spec);
    if (!r) {
      throw Error(flag + " \"" + spec +
                  "\": expected an IPv4 or IPv6 address, or a range ADDR/BITS (10.0.0.0/8, fd00::/8)");
    }
    ranges_.push_back(*r);
  }
}

bool TrustedProxies::contains(const IpBytes& ip) const {
  return std::any_of(ranges_.begin(), ranges_.end(), [&](const IpRange& r) { return r.contains(ip); });
}

std::optional<IpBytes> parse_forwarded_element(std::string_view element) {
  element = trim(element);
  if (element.empty()) return std::nullopt;
  const auto is_port = [](std::string_view p) {
    return !p.empty() && p.size() <= 5 && std::all_of(p.begin(), p.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  if (element.front() == '[') {  // [v6] or [v6]:port
    const size_t close = element.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    const std::string_view after = element.substr(close + 1);
    if (!after.empty() && !(after.front() == ':' && is_port(after.substr(1)))) return std::nullopt;
    const std::string_view inner = element.substr(1, close - 1);
    if (inner.find(':') == std::string_view::npos) return std::nullopt;
    return parse_ipv6(inner);
  }
  const size_t first_colon = element.find(':');
  if (first_colon != std::string_view::npos && element.find(':', first_colon + 1) == std::string_view::npos) {
    // One colon: IPv4 with a port.
    if (!is_port(element.substr(first_colon + 1))) return std::nullopt;
    return parse_ipv4(element.substr(0, first_colon));
  }
  return parse_ip(element);
}

IpBytes client_address(const IpBytes& peer, std::string_view forwarded_for, const TrustedProxies& trusted) {
  IpBytes client = peer;
  if (!trusted.contains(peer)) return client;
  // Right to left: each trusted hop appended the address it was reached from.
  size_t end = forwarded_for.size();
  while (true) {
    const size_t comma = end == 0 ? std::string_view::npos : forwarded_for.rfind(',', end - 1);
    const size_t begin = comma == std::string_view::npos ? 0 : comma + 1;
    const std::string_view element = trim(forwarded_for.substr(begin, end - begin));
    if (!element.empty()) {
      const std::optional<IpBytes> hop = parse_forwarded_element(element);
      if (!hop) return client;  // not an address: believe no further than the last trusted proxy
      client = *hop;
      if (!trusted.contains(client)) return client;
    }
    if (comma == std::string_view::npos) return client;
    end = comma;
  }
}

ClientId ClientId::api_key(size_t index) {
  ClientId id;
  id.kind = Kind::kApiKey;
  for (int i = 0; i < 8; ++i) id.bytes[15 - i] = static_cast<uint8_t>(static_cast<uint64_t>(index) >> (8 * i));
  return id;
}

ClientId ClientId::address(const IpBytes& ip) {
  ClientId id;
  id.kind = Kind::kAddress;
  id.bytes = ip;
  if (!is_mapped_ipv4(ip)) std::fill(id.bytes.begin() + 8, id.bytes.end(), uint8_t{0});
  return id;
}

std::string ClientId::describe() const {
  if (kind == Kind::kApiKey) {
    uint64_t index = 0;
    for (int i = 8; i < 16; ++i) index = (index << 8) | bytes[i];
    return "API key #" + std::to_string(index + 1);
  }
  return "address " + ip_to_string(bytes) + (is_mapped_ipv4(bytes) ? "" : "/64");
}

ClientId identify_client(const Request& req, std::string_view peer_ip, bool keyed, size_t key_index,
                         const TrustedProxies& trusted) {
  if (keyed) return ClientId::api_key(key_index);
  const IpBytes peer = parse_ip(peer_ip).value_or(IpBytes{});
  if (trusted.empty() || !trusted.contains(peer)) return ClientId::address(peer);
  std::string forwarded_for;
  for (auto [it, end] = req.equal_range("X-Forwarded-For"); it != end; ++it) {
    if (!forwarded_for.empty()) forwarded_for += ',';
    forwarded_for.append(it->value().data(), it->value().size());
  }
  return ClientId::address(client_address(peer, forwarded_for, trusted));
}

}  // namespace qembed::server
