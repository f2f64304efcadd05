"""The address policy, the path-name check and the log redaction, in-process (issue 25's mutation run).

``tests/test_security.py`` checks these through crawls of the console script, which the mutation
run cannot see (README "Mutation testing"); here each rule is pinned at its edges: the writings of
an address ``parse_ip`` accepts, the entries ``AUTONEWS_PRIVATE_HOSTS`` takes or refuses, the
networks and embedded IPv4 addresses ``allows`` judges, the names that become file names, and the
log record factory that takes secrets out of every message.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterator

import pytest
from scrapy.settings import Settings

import crawler.security.logs as security_logs
from crawler.security.addresses import AddressPolicy, PolicyError, embedded_ipv4, is_public, parse_ip
from crawler.security.logs import install_log_redaction
from crawler.security.names import PATH_NAME_SETTINGS, check_path_names

SECRET = "S3cr3tPassw0rd"


def ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """The address ``text`` spells."""
    return ipaddress.ip_address(text)


# --- parse_ip ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "address"), [
    ("127.0.0.2", "127.0.0.2"), (" 10.0.0.1 ", "10.0.0.1"), ("::1", "::1"), ("[::1]", "::1"),
    ("[2606:4700::1111]", "2606:4700::1111"),
    # the zone goes: the address is judged (and logged) as itself whatever interface names it
    ("fe80::1%eth0", "fe80::1"), ("[fe80::1%25eth0]", "fe80::1"), ("fe80::1%25a%25b", "fe80::1"),
])
def test_parse_ip_reads_plain_bracketed_and_zoned_addresses(text: str, address: str) -> None:
    parsed = parse_ip(text)
    assert parsed == ip(address) and str(parsed) == address


@pytest.mark.parametrize("text", ["", "localhost", "intranet.example", "2130706434", "127.1", "::1]x",
                                  "10.0.0.0/8", "http://127.0.0.1/"])
def test_parse_ip_is_none_for_anything_but_an_address(text: str) -> None:
    assert parse_ip(text) is None


# --- is_public and embedded IPv4 ----------------------------------------------------------------------------


@pytest.mark.parametrize(("address", "inner"), [
    ("::ffff:127.0.0.2", "127.0.0.2"), ("64:ff9b::a9fe:a9fe", "169.254.169.254"), ("64:ff9b::808:808", "8.8.8.8"),
    ("2002:7f00:2::", "127.0.0.2"), ("2001:0:4136:e378:8000:63bf:80ff:fffd", "127.0.0.2"),
])
def test_an_ipv6_address_leads_to_the_ipv4_address_it_embeds(address: str, inner: str) -> None:
    assert embedded_ipv4(ip(address)) == ip(inner)


@pytest.mark.parametrize("address", ["127.0.0.2", "2606:4700::1111", "fe80::1", "2001:db8::1"])
def test_an_address_that_embeds_nothing_leads_nowhere(address: str) -> None:
    assert embedded_ipv4(ip(address)) is None


@pytest.mark.parametrize(("address", "public"), [
    # reserved IPv6 ranges that ipaddress still calls global: only is_reserved refuses them
    ("4000::1", False), ("100::1", False), ("ff0e::1", False), ("233.252.0.1", False),
    ("2002:808:808::", True),  # 6to4 of 8.8.8.8: judged by where it leads
    ("2002:a00:1::", False),  # 6to4 of 10.0.0.1
    ("8.8.8.8", True), ("2a00:1450:4001::200e", True),
])
def test_public_means_globally_routable_unicast(address: str, public: bool) -> None:
    assert is_public(ip(address)) is public


# --- AddressPolicy.parse -------------------------------------------------------------------------------------


def test_private_hosts_entries_may_be_a_list_and_empty_entries_are_skipped() -> None:
    from_text = AddressPolicy.parse("127.0.0.1,, 10.0.0.0/8 ,intranet.example")
    from_list = AddressPolicy.parse(["127.0.0.1", "", " 10.0.0.0/8 ", "intranet.example"])
    assert from_text == from_list
    assert from_list.networks == (ipaddress.ip_network("127.0.0.1/32"), ipaddress.ip_network("10.0.0.0/8"))
    assert from_list.hosts == frozenset({"intranet.example"})
    assert AddressPolicy.parse(" , ,") == AddressPolicy()


def test_private_hosts_addresses_may_be_bracketed_or_zoned() -> None:
    policy = AddressPolicy.parse("[::1], [fe80::1%eth0]")
    assert policy.networks == (ipaddress.ip_network("::1/128"), ipaddress.ip_network("fe80::1/128"))
    assert policy.allows("x", "::1") and policy.allows("x", "fe80::1") and not policy.allows("x", "fe80::2")
    assert policy.hosts == frozenset()


def test_a_network_written_with_host_bits_means_the_whole_network() -> None:
    policy = AddressPolicy.parse("192.168.1.10/24")  # as an operator copies it from `ip addr`
    assert policy.networks == (ipaddress.ip_network("192.168.1.0/24"),)
    assert policy.allows("nas", "192.168.1.77") and not policy.allows("nas", "192.168.2.1")


def test_host_name_entries_take_dns_labels_up_to_63_characters() -> None:
    longest = "a" * 63
    policy = AddressPolicy.parse(f"My-Host.example., build_box, {longest}.example")
    assert policy.hosts == frozenset({"my-host.example", "build_box", f"{longest}.example"})
    with pytest.raises(PolicyError):
        AddressPolicy.parse(f"{longest}a.example")


@pytest.mark.parametrize("entry", ["-", "_", "--.example", "a._", "a..b", ".", "http://10.0.0.1/", "host name",
                                   "10.0.0.0/33", "*.example"])
def test_garbage_private_hosts_entries_are_refused_by_name(entry: str) -> None:
    with pytest.raises(PolicyError) as caught:
        AddressPolicy.parse(f"127.0.0.1,{entry}")
    assert str(caught.value) == f"AUTONEWS_PRIVATE_HOSTS: {entry!r} is not a host name, IP address or network"


# --- AddressPolicy.allows -------------------------------------------------------------------------------------


def test_an_allowed_network_is_allowed_in_its_ipv6_spellings_and_nothing_next_to_it() -> None:
    policy = AddressPolicy.parse("127.0.0.1, 169.254.0.0/16")
    assert policy.allows_ip(ip("::ffff:127.0.0.1")) and policy.allows_ip(ip("64:ff9b::a9fe:a9fe"))
    assert not policy.allows_ip(ip("::ffff:127.0.0.2")) and not policy.allows_ip(ip("64:ff9b::a00:1"))
    assert not policy.allows_ip(ip("::1")) and not policy.allows_ip(ip("fe80::1"))
    assert AddressPolicy().allows_ip(ip("93.184.216.34")) and not AddressPolicy().allows_ip(ip("::ffff:127.0.0.1"))


def test_allows_takes_an_address_or_its_text_and_refuses_what_is_not_one() -> None:
    policy = AddressPolicy.parse("10.0.0.0/8")
    assert policy.allows("wiki", ip("10.1.2.3")) and policy.allows("wiki", "10.1.2.3")
    assert not policy.allows("wiki", ip("192.168.0.1")) and not policy.allows("wiki", "192.168.0.1")
    assert policy.allows("public.example", ip("8.8.8.8"))
    assert not policy.allows("wiki", "not an address") and not policy.allows("wiki", "")
    named = AddressPolicy.parse("intranet.example")
    assert not named.allows("intranet.example", "garbage")  # a name allows an address, not anything


def test_an_allowed_name_is_matched_exactly_whatever_its_case_and_final_dot() -> None:
    policy = AddressPolicy.parse("Intranet.Example.")
    assert policy.allows("INTRANET.example", "10.0.0.1") and policy.allows("intranet.example.", "10.0.0.1")
    assert not policy.allows("intranet.example.com", "10.0.0.1") and not policy.allows("xintranet.example", "10.0.0.1")
    # a look-alike is not folded onto the allowed name (dotless i upper-cases to I)
    assert not policy.allows("\u0131ntranet.example", "10.0.0.1")


# --- names that become parts of file names ---------------------------------------------------------------------


def test_path_name_settings_take_plain_names_or_nothing() -> None:
    check_path_names(Settings({"AUTONEWS_WORKER_ID": "worker-1.a_b", "AUTONEWS_REDIS_INSTANCE": "prod"}))
    check_path_names(Settings({}))
    check_path_names(Settings({key: "" for key in PATH_NAME_SETTINGS}))
    check_path_names(Settings({key: None for key in PATH_NAME_SETTINGS}))


@pytest.mark.parametrize("key", PATH_NAME_SETTINGS)
@pytest.mark.parametrize("value", ["../x", "a/b", "..", "x y", "w\x00"])
def test_a_path_name_setting_with_a_path_in_it_is_refused_by_name(key: str, value: str) -> None:
    other = next(k for k in PATH_NAME_SETTINGS if k != key)
    with pytest.raises(ValueError) as caught:
        check_path_names(Settings({other: "fine", key: value}))
    assert str(caught.value).startswith(f"{key} {value!r} may only hold")


# --- log redaction -------------------------------------------------------------------------------------------


@pytest.fixture
def plain_logging(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A process whose log records are not redacted yet; the previous factory is put back afterwards."""
    before = logging.getLogRecordFactory()
    monkeypatch.setattr(security_logs, "_installed", False)
    logging.setLogRecordFactory(logging.LogRecord)
    try:
        yield
    finally:
        logging.setLogRecordFactory(before)


def make(msg: str, *args: object) -> logging.LogRecord:
    """A record made as a logger makes it (through the process's record factory)."""
    return logging.getLogger("autonews.test").makeRecord("autonews.test", logging.WARNING, "x.py", 7, msg, args, None)


@pytest.mark.usefixtures("plain_logging")
def test_log_redaction_is_installed_once_and_redacts_every_record() -> None:
    assert SECRET in make("cannot use %s", f"redis://:{SECRET}@h:1/0").getMessage()  # not redacted before
    install_log_redaction()
    factory = logging.getLogRecordFactory()
    assert factory is not logging.LogRecord
    install_log_redaction()
    assert logging.getLogRecordFactory() is factory  # not wrapped twice
    record = make("cannot use %s: %s", f"redis://:{SECRET}@h:1/0", {"REDIS_URL": f"redis://u:{SECRET}@h/0"})
    assert (record.name, record.levelno, record.pathname, record.lineno) == ("autonews.test", logging.WARNING, "x.py", 7)
    assert record.msg == "cannot use redis://:***@h:1/0: {'REDIS_URL': 'redis://u:***@h/0'}" and record.args == ()
    # the factory takes LogRecord's arguments by keyword too, as the logging protocol allows
    by_keyword = factory(name="autonews.test", level=logging.ERROR, pathname="y.py", lineno=9, msg="%s",
                         args=(f"redis://:{SECRET}@h/0",), exc_info=None, func="f")
    assert (by_keyword.levelno, by_keyword.pathname, by_keyword.lineno, by_keyword.funcName) == (logging.ERROR, "y.py", 9, "f")
    assert by_keyword.getMessage() == "redis://:***@h/0"


@pytest.mark.usefixtures("plain_logging")
def test_records_without_secrets_keep_their_message_and_arguments() -> None:
    install_log_redaction()
    record = make("fetched %s in %d s", "https://example.com/a?page=2", 3)
    assert record.msg == "fetched %s in %d s" and record.args == ("https://example.com/a?page=2", 3)
    broken = make("%d pages", "many")  # a broken format string is logging's to report, not the factory's
    assert broken.msg == "%d pages" and broken.args == ("many",)
    with pytest.raises(TypeError):
        broken.getMessage()
