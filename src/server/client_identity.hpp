#pragma once
// Who a client is, for the per-client rate limits (rate_limit.hpp). With API keys configured the client is the key
// (named by its position, "API key #2", never by its text); without keys it is the client's address: the TCP peer,
// or, when the peer is one of the --trusted-proxy addresses or ranges, the address X-Forwarded-For names (walking
// from the right past every trusted proxy). Without --trusted-proxy the header is ignored, so a client cannot
// choose its own identity. IPv6 addresses are grouped by /64 (what one host or site usually gets: a client must not
// dodge its limit by rotating addresses inside its own prefix).
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "server/http/http_server.hpp"

namespace qembed::server {

//! An IP address as 16 bytes: IPv6, or IPv4 mapped into ::ffff:0:0/96, so one prefix match serves both families.
using IpBytes = std::array<uint8_t, 16>;

//! A numeric IPv4 (dotted quad) or IPv6 address; an IPv6 zone ("%eth0") is dropped. nullopt for anything else.
std::optional<IpBytes> parse_ip(std::string_view text);
//! The address as text: a dotted quad for a mapped IPv4, the RFC 5952 form for IPv6.
std::string ip_to_string(const IpBytes& ip);
//! True for an IPv4 address mapped into ::ffff:0:0/96.
bool is_mapped_ipv4(const IpBytes& ip);

//! An address range: the addresses whose first `prefix_bits` bits are those of `base` (IPv4 ranges count the 96
//! bits of the mapping prefix).
struct IpRange {
  IpBytes base{};
  int prefix_bits = 128;
  bool contains(const IpBytes& ip) const;
};
//! ADDR (one address) or ADDR/BITS (IPv4: 0..32, IPv6: 0..128; host bits set in ADDR are ignored). nullopt when
//! malformed.
std::optional<IpRange> parse_ip_range(std::string_view text);

//! The proxies whose X-Forwarded-For is believed (--trusted-proxy, repeatable).
class TrustedProxies {
 public:
  TrustedProxies() = default;
  //! Each spec is ADDR or ADDR/BITS; an Error naming `flag` and the spec when one is malformed.
  explicit TrustedProxies(const std::vector<std::string>& specs, const std::string& flag = "--trusted-proxy");
  bool empty() const { return ranges_.empty(); }
  bool contains(const IpBytes& ip) const;

 private:
  std::vector<IpRange> ranges_;
};

//! One X-Forwarded-For element as an address: `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1`, `[2001:db8::1]` or
//! `[2001:db8::1]:5678`, with surrounding spaces or tabs; nullopt for anything else (`unknown`, names, garbage).
std::optional<IpBytes> parse_forwarded_element(std::string_view element);

//! The client's address. `peer` is the TCP peer; `forwarded_for` is X-Forwarded-For (several header lines joined
//! with ','). When the peer is trusted, the elements are read from the right: each trusted one is a proxy that
//! forwarded the request, and the first one that is not trusted is the client. An element that is not an address
//! stops the walk: the client is then the last proxy passed (what it was sent cannot be told apart from a client's
//! invention). When every element is trusted, the leftmost is the client. Empty elements are skipped.
IpBytes client_address(const IpBytes& peer, std::string_view forwarded_for, const TrustedProxies& trusted);

//! Who a limit applies to: an API key (by its position among the configured keys) or an address (IPv6: its /64).
struct ClientId {
  enum class Kind : uint8_t { kApiKey, kAddress };
  Kind kind = Kind::kAddress;
  IpBytes bytes{};  //!< kAddress: the address (IPv6 with its last 64 bits zeroed); kApiKey: the index, big-endian

  static ClientId api_key(size_t index);
  static ClientId address(const IpBytes& ip);
  bool operator==(const ClientId&) const = default;
  //! For messages and logs: "API key #2" (1-based), "address 10.0.0.7", "address 2001:db8:1:2::/64"; never the key.
  std::string describe() const;
};

//! The client of a request: API key #`key_index` when `keyed` (keys are configured), else client_address() of
//! `peer_ip` ("" or unparsable: the unspecified address) and the request's X-Forwarded-For lines.
ClientId identify_client(const Request& req, std::string_view peer_ip, bool keyed, size_t key_index,
                         const TrustedProxies& trusted);

}  // namespace qembed::server
