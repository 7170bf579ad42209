import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../src/lib/config';
import { mayConnect, parseNetwork } from '../src/lib/ip-networks';

describe('which addresses the upload service may connect to', () => {
  it('refuses every non-public range, in IPv4, IPv6 and the IPv6 forms that carry IPv4', () => {
    const refused = [
      ['0.0.0.0', 'unspecified'],
      ['0.1.2.3', '"this network"'],
      ['10.255.0.1', 'RFC 1918'],
      ['172.16.0.1', 'RFC 1918'],
      ['172.31.255.255', 'RFC 1918'],
      ['192.168.0.1', 'RFC 1918'],
      ['100.64.0.1', 'CGNAT'],
      ['100.127.255.255', 'CGNAT'],
      ['127.0.0.1', 'loopback'],
      ['127.255.255.254', 'loopback'],
      ['169.254.169.254', 'link-local: cloud metadata'],
      ['224.0.0.251', 'multicast'],
      ['239.255.255.250', 'multicast'],
      ['255.255.255.255', 'broadcast'],
      ['::', 'unspecified'],
      ['::1', 'loopback'],
      ['fc00::1', 'unique-local'],
      ['fdff:ffff::1', 'unique-local'],
      ['fe80::1', 'link-local'],
      ['fe80::1%eth0', 'link-local with a zone'],
      ['febf::1', 'link-local'],
      ['ff02::1', 'multicast'],
      ['::ffff:127.0.0.1', 'IPv4-mapped loopback'],
      ['::ffff:7f00:1', 'IPv4-mapped loopback, hex'],
      ['::ffff:10.0.0.1', 'IPv4-mapped RFC 1918'],
      ['::ffff:169.254.169.254', 'IPv4-mapped metadata'],
      ['::127.0.0.1', 'IPv4-compatible loopback'],
      ['::a9fe:a9fe', 'IPv4-compatible metadata'],
      ['64:ff9b::10.0.0.1', 'NAT64 of RFC 1918'],
      ['2002:a9fe:a9fe::1', '6to4 of metadata'],
    ];
    for (const [address, what] of refused) assert.equal(mayConnect(address, []), false, `${address} (${what})`);
  });

  it('allows public addresses, including the edges just outside the refused ranges', () => {
    for (const address of [
      '1.1.1.1',
      '9.255.255.255',
      '11.0.0.0',
      '100.63.255.255',
      '100.128.0.0',
      '172.15.255.255',
      '172.32.0.0',
      '169.253.255.255',
      '223.255.255.255',
      '2606:4700:4700::1111',
      '::ffff:8.8.8.8',
      '64:ff9b::8.8.8.8',
    ]) {
      assert.equal(mayConnect(address, []), true, address);
    }
    assert.equal(mayConnect('not-an-address', []), false);
  });

  it('lets listed networks through, whatever spelling the address has', () => {
    const allowed = ['10.20.0.0/16', '127.0.0.1', 'fd00:aa::/32'].map((n) => parseNetwork(n)!);
    assert.equal(mayConnect('10.20.3.4', allowed), true);
    assert.equal(mayConnect('::ffff:10.20.3.4', allowed), true);
    assert.equal(mayConnect('10.21.0.1', allowed), false);
    assert.equal(mayConnect('127.0.0.1', allowed), true);
    assert.equal(mayConnect('127.0.0.2', allowed), false);
    assert.equal(mayConnect('fd00:aa:1::5', allowed), true);
    assert.equal(mayConnect('fd00:ab::5', allowed), false);
  });

  it('NANO_PHOTOS_URL_ALLOW: empty by default, comma-separated networks, a clear error for anything else', () => {
    assert.deepEqual(loadConfig({}).upload.allowedNetworks, []);
    const parsed = loadConfig({ NANO_PHOTOS_URL_ALLOW: '10.0.0.0/8, fd00::/8,192.168.1.20' }).upload.allowedNetworks;
    assert.deepEqual(
      parsed.map((n) => [n.text, n.prefix]),
      [
        ['10.0.0.0/8', 104],
        ['fd00::/8', 8],
        ['192.168.1.20', 128],
      ],
    );
    for (const bad of ['10.0.0.0/33', 'intranet', '10.0.0.0/8/8', '::1/129', '10.0.0.0/-1']) {
      assert.throws(
        () => loadConfig({ NANO_PHOTOS_URL_ALLOW: bad }),
        new RegExp(
          `^Error: NANO_PHOTOS_URL_ALLOW: expected comma-separated networks .*received "${bad.replace(/\./g, '\\.')}"`,
        ),
      );
    }
  });
});
