// Who a client is for the rate limits: address parsing, ranges (CIDR edges), X-Forwarded-For walked from the right
// past trusted proxies only, malformed headers, IPv6 grouped by /64, API keys named by position.
#include "server/client_identity.hpp"

#include <gtest/gtest.h>

#include <boost/beast/http.hpp>

#include "common/error.hpp"

namespace qembed::server {
namespace {

IpBytes ip(const char* text) {
  std::optional<IpBytes> a = parse_ip(text);
  EXPECT_TRUE(a.has_value()) << text;
  return a.value_or(IpBytes{});
}

std::string client(const char* peer, std::string_view xff, const TrustedProxies& trusted) {
  return ip_to_string(client_address(ip(peer), xff, trusted));
}

TEST(ClientIdentity, ParsesNumericAddressesOnly) {
  EXPECT_EQ(ip_to_string(ip("192.0.2.7")), "192.0.2.7");
  EXPECT_EQ(ip_to_string(ip("2001:DB8::1")), "2001:db8::1");
  EXPECT_EQ(ip_to_string(ip("::ffff:192.0.2.7")), "192.0.2.7");  // a mapped IPv4 is the IPv4 address
  EXPECT_EQ(ip("::ffff:192.0.2.7"), ip("192.0.2.7"));
  EXPECT_EQ(ip_to_string(ip("fe80::1%eth0")), "fe80::1");  // the zone is dropped
  EXPECT_TRUE(is_mapped_ipv4(ip("10.0.0.1")));
  EXPECT_FALSE(is_mapped_ipv4(ip("::1")));
  for (const char* bad : {"", " ", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1.2.3.4 ", "localhost", "::g",
                          "1:2:3:4:5:6:7:8:9", "unknown", "1.2.3.4/8", "[::1]"}) {
    EXPECT_FALSE(parse_ip(bad).has_value()) << '"' << bad << '"';
  }
}

TEST(ClientIdentity, RangesMatchTheirPrefixAndNothingElse) {
  const IpRange v4 = parse_ip_range("10.1.2.3/8").value();  // host bits are ignored
  EXPECT_TRUE(v4.contains(ip("10.0.0.0")));
  EXPECT_TRUE(v4.contains(ip("10.255.255.255")));
  EXPECT_FALSE(v4.contains(ip("11.0.0.0")));
  EXPECT_FALSE(v4.contains(ip("9.255.255.255")));
  EXPECT_FALSE(v4.contains(ip("::a01:203")));  // the same 32 bits, not mapped: an IPv6 address

  const IpRange odd = parse_ip_range("192.168.1.128/25").value();
  EXPECT_TRUE(odd.contains(ip("192.168.1.128")));
  EXPECT_TRUE(odd.contains(ip("192.168.1.255")));
  EXPECT_FALSE(odd.contains(ip("192.168.1.127")));

  const IpRange one = parse_ip_range("192.0.2.7").value();
  EXPECT_TRUE(one.contains(ip("192.0.2.7")));
  EXPECT_FALSE(one.contains(ip("192.0.2.6")));
  EXPECT_TRUE(parse_ip_range("192.0.2.7/32").value().contains(ip("192.0.2.7")));
  EXPECT_FALSE(parse_ip_range("192.0.2.7/32").value().contains(ip("192.0.2.8")));

  const IpRange all4 = parse_ip_range("0.0.0.0/0").value();  // every IPv4 address, no IPv6 one
  EXPECT_TRUE(all4.contains(ip("255.255.255.255")));
  EXPECT_FALSE(all4.contains(ip("2001:db8::1")));
  EXPECT_TRUE(parse_ip_range("::/0").value().contains(ip("2001:db8::1")));
  EXPECT_TRUE(parse_ip_range("::/0").value().contains(ip("1.2.3.4")));

  const IpRange v6 = parse_ip_range("fd00::/7").value();
  EXPECT_TRUE(v6.contains(ip("fc00::1")));
  EXPECT_TRUE(v6.contains(ip("fdff:ffff::1")));
  EXPECT_FALSE(v6.contains(ip("fe00::1")));
  const IpRange v6_65 = parse_ip_range("2001:db8::/65").value();
  EXPECT_TRUE(v6_65.contains(ip("2001:db8::7fff:ffff:ffff:ffff")));
  EXPECT_FALSE(v6_65.contains(ip("2001:db8::8000:0:0:0")));
  EXPECT_TRUE(parse_ip_range("::1/128").value().contains(ip("::1")));
  EXPECT_FALSE(parse_ip_range("::1/128").value().contains(ip("::2")));

  for (const char* bad : {"10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/", "10.0.0.0/8x", "::/129", "/8", "10.0.0.0/ 8",
                          "10.0.0.0//8", "proxy.local", "10.0.0.0/08a"}) {
    EXPECT_FALSE(parse_ip_range(bad).has_value()) << bad;
  }
}

TEST(ClientIdentity, TrustedProxiesNameTheBadSpec) {
  try {
    TrustedProxies({"10.0.0.0/8", "10.0.0.0/40"});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--trusted-proxy \"10.0.0.0/40\""), std::string::npos) << e.what();
  }
  const TrustedProxies t({"10.0.0.0/8", "::1"});
  EXPECT_TRUE(t.contains(ip("10.9.9.9")));
  EXPECT_TRUE(t.contains(ip("::1")));
  EXPECT_FALSE(t.contains(ip("127.0.0.1")));
  EXPECT_TRUE(TrustedProxies().empty());
}

TEST(ClientIdentity, ForwardedElements) {
  EXPECT_EQ(ip_to_string(parse_forwarded_element(" 203.0.113.5 ").value()), "203.0.113.5");
  EXPECT_EQ(ip_to_string(parse_forwarded_element("203.0.113.5:4711").value()), "203.0.113.5");
  EXPECT_EQ(ip_to_string(parse_forwarded_element("2001:db8::5").value()), "2001:db8::5");
  EXPECT_EQ(ip_to_string(parse_forwarded_element("[2001:db8::5]").value()), "2001:db8::5");
  EXPECT_EQ(ip_to_string(parse_forwarded_element("[2001:db8::5]:443").value()), "2001:db8::5");
  for (const char* bad : {"", "unknown", "_hidden", "203.0.113.5:", "203.0.113.5:http", "203.0.113.5:123456",
                          "[2001:db8::5", "[2001:db8::5]x", "[2001:db8::5]:", "[203.0.113.5]", "\"203.0.113.5\"",
                          "for=203.0.113.5", "203.0.113.5 203.0.113.6"}) {
    EXPECT_FALSE(parse_forwarded_element(bad).has_value()) << bad;
  }
}

TEST(ClientIdentity, ForwardedForIsIgnoredUnlessThePeerIsTrusted) {
  const TrustedProxies none;
  EXPECT_EQ(client("198.51.100.1", "203.0.113.5", none), "198.51.100.1");
  const TrustedProxies proxy({"10.0.0.1"});
  EXPECT_EQ(client("198.51.100.1", "203.0.113.5", proxy), "198.51.100.1");  // a client sending the header itself
  EXPECT_EQ(client("10.0.0.1", "203.0.113.5", proxy), "203.0.113.5");
  EXPECT_EQ(client("10.0.0.1", "", proxy), "10.0.0.1");  // a trusted peer without the header is the client
}

TEST(ClientIdentity, ForwardedForIsWalkedFromTheRight) {
  const TrustedProxies proxies({"10.0.0.0/8", "fd00::/8"});
  // A client's own forged entries sit left of the address the proxy appended: they are never reached.
  EXPECT_EQ(client("10.0.0.1", "1.1.1.1, 203.0.113.5", proxies), "203.0.113.5");
  // Two trusted hops, then the client.
  EXPECT_EQ(client("10.0.0.1", "198.51.100.9, 203.0.113.5, 10.2.2.2", proxies), "203.0.113.5");
  EXPECT_EQ(client("10.0.0.1", "203.0.113.5,10.2.2.2,fd00::7", proxies), "203.0.113.5");
  // Every hop trusted: the leftmost.
  EXPECT_EQ(client("10.0.0.1", "10.3.3.3, 10.2.2.2", proxies), "10.3.3.3");
  // Empty elements are skipped.
  EXPECT_EQ(client("10.0.0.1", " , 203.0.113.5 ,, ", proxies), "203.0.113.5");
  EXPECT_EQ(client("10.0.0.1", ",,,", proxies), "10.0.0.1");
  // Ports and brackets.
  EXPECT_EQ(client("10.0.0.1", "203.0.113.5:5555", proxies), "203.0.113.5");
  EXPECT_EQ(client("10.0.0.1", "[2001:db8::9]:5555, 10.2.2.2", proxies), "2001:db8::9");
  // IPv6 peer (the proxy reached us over IPv6).
  EXPECT_EQ(client("fd00::1", "203.0.113.5", proxies), "203.0.113.5");
}

TEST(ClientIdentity, MalformedForwardedForStopsAtTheLastTrustedHop) {
  const TrustedProxies proxies({"10.0.0.0/8"});
  EXPECT_EQ(client("10.0.0.1", "garbage", proxies), "10.0.0.1");
  EXPECT_EQ(client("10.0.0.1", "unknown", proxies), "10.0.0.1");
  EXPECT_EQ(client("10.0.0.1", "203.0.113.5, garbage, 10.2.2.2", proxies), "10.2.2.2");
  EXPECT_EQ(client("10.0.0.1", "garbage, 203.0.113.5", proxies), "203.0.113.5");  // never reached
  EXPECT_EQ(client("10.0.0.1", "300.1.1.1", proxies), "10.0.0.1");
  EXPECT_EQ(client("10.0.0.1", std::string(10000, ','), proxies), "10.0.0.1");
  std::string many;
  for (int i = 0; i < 2000; ++i) many += "10.0.0." + std::to_string(i % 250) + ",";
  EXPECT_EQ(client("10.0.0.1", many + "203.0.113.5", proxies), "203.0.113.5");
  EXPECT_EQ(client("10.0.0.1", "203.0.113.5," + many, proxies), "203.0.113.5");
}

TEST(ClientIdentity, ClientIdsGroupIpv6ByPrefixAndNeverShowAKey) {
  EXPECT_EQ(ClientId::address(ip("2001:db8:1:2::1")), ClientId::address(ip("2001:db8:1:2:ffff::9")));
  EXPECT_FALSE(ClientId::address(ip("2001:db8:1:2::1")) == ClientId::address(ip("2001:db8:1:3::1")));
  EXPECT_FALSE(ClientId::address(ip("192.0.2.1")) == ClientId::address(ip("192.0.2.2")));
  EXPECT_EQ(ClientId::address(ip("2001:db8:1:2::1")).describe(), "address 2001:db8:1:2::/64");
  EXPECT_EQ(ClientId::address(ip("192.0.2.1")).describe(), "address 192.0.2.1");
  EXPECT_EQ(ClientId::api_key(0).describe(), "API key #1");
  EXPECT_EQ(ClientId::api_key(300).describe(), "API key #301");
  EXPECT_FALSE(ClientId::api_key(0) == ClientId::api_key(1));
  EXPECT_FALSE(ClientId::api_key(0) == ClientId::address(IpBytes{}));
}

TEST(ClientIdentity, IdentifiesARequest) {
  Request req{boost::beast::http::verb::post, "/v1/embeddings", 11};
  req.insert("X-Forwarded-For", "1.1.1.1, 203.0.113.5");
  req.insert("x-forwarded-for", "10.2.2.2");  // a second header line continues the list
  const TrustedProxies proxies({"10.0.0.0/8"});
  EXPECT_EQ(identify_client(req, "10.0.0.1", false, 0, proxies).describe(), "address 203.0.113.5");
  EXPECT_EQ(identify_client(req, "198.51.100.1", false, 0, proxies).describe(), "address 198.51.100.1");
  EXPECT_EQ(identify_client(req, "10.0.0.1", false, 0, TrustedProxies()).describe(), "address 10.0.0.1");
  EXPECT_EQ(identify_client(req, "10.0.0.1", true, 4, proxies).describe(), "API key #5");  // keys win
  EXPECT_EQ(identify_client(req, "", false, 0, TrustedProxies()).describe(), "address ::/64");
  EXPECT_EQ(identify_client(req, "::ffff:10.0.0.1", false, 0, proxies).describe(), "address 203.0.113.5");
}

}  // namespace
}  // namespace qembed::server
