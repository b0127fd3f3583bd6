import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { EMPTY_ROOT, HASH_BYTES, MemoryTree, RFC6962_LEAF_PREFIX, RFC6962_NODE_PREFIX, leafHash, leafHashInto, nodeHash, rootOfLeafHashes } from '../../src/ledger/index.js';

const sha256 = (...parts: Uint8Array[]): Buffer => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};
const hex = (s: string): Buffer => Buffer.from(s, 'hex');

/** transparency-dev/merkle testonly/constants.go: the classic 8-leaf tree, its level-1…3 nodes and roots 0…8. */
const KAT_LEAVES = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map(hex);
const KAT_LEAF_HASHES = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
  '0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7',
  '07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7',
  'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
  '4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658',
  'b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f',
  '46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1',
];
const KAT_LEVEL1 = [
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
  '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
  'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
];
const KAT_LEVEL2 = ['d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7', '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4'];
const KAT_ROOTS = [
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];

describe('RFC 6962 §2.1 hashing', () => {
  test('the empty tree hashes to SHA-256 of nothing (e3b0c442…b855)', () => {
    assert.equal(EMPTY_ROOT.toString('hex'), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    assert.deepEqual(rootOfLeafHashes([]), EMPTY_ROOT);
    assert.equal(HASH_BYTES, 32);
  });

  test('leaves are prefixed with 0x00 and interior nodes with 0x01', () => {
    assert.equal(RFC6962_LEAF_PREFIX, 0x00);
    assert.equal(RFC6962_NODE_PREFIX, 0x01);
    const d = Buffer.from('kuraban access #1');
    assert.deepEqual(leafHash(d), sha256(Buffer.of(0x00), d));
    assert.notDeepEqual(leafHash(d), sha256(d));
    const into = Buffer.alloc(40, 0xaa);
    leafHashInto(d, into, 5);
    assert.deepEqual(into.subarray(5, 37), sha256(Buffer.of(0x00), d));
    assert.deepEqual([...into.subarray(0, 5), ...into.subarray(37)], new Array(8).fill(0xaa), 'nothing written outside its 32 bytes');
    const big = Buffer.alloc(100_000, 7); // longer than the reused input buffer
    assert.deepEqual(leafHash(big), sha256(Buffer.of(0x00), big));
    assert.deepEqual(leafHash(d), sha256(Buffer.of(0x00), d), 'and shorter again after it grew');
    const [l, r] = [sha256(Buffer.from('l')), sha256(Buffer.from('r'))];
    assert.deepEqual(nodeHash(l, r), sha256(Buffer.of(0x01), l, r));
    assert.notDeepEqual(nodeHash(l, r), nodeHash(r, l));
    // Domain separation: a 64-byte leaf that spells out two children does not hash like their parent.
    assert.notDeepEqual(leafHash(Buffer.concat([l, r])), nodeHash(l, r));
  });

  test('a hand-computed 5-leaf tree: the right edge is a smaller subtree, never padded or duplicated', () => {
    const h = ['a', 'b', 'c', 'd', 'e'].map((s) => sha256(Buffer.of(0x00), Buffer.from(s)));
    const [a, b, c, d, e] = h as [Buffer, Buffer, Buffer, Buffer, Buffer];
    const ab = sha256(Buffer.of(0x01), a, b);
    const cd = sha256(Buffer.of(0x01), c, d);
    const abcd = sha256(Buffer.of(0x01), ab, cd);
    assert.deepEqual(rootOfLeafHashes([a]), a);
    assert.deepEqual(rootOfLeafHashes([a, b]), ab);
    assert.deepEqual(rootOfLeafHashes([a, b, c]), sha256(Buffer.of(0x01), ab, c));
    assert.deepEqual(rootOfLeafHashes([a, b, c, d]), abcd);
    assert.deepEqual(rootOfLeafHashes(h), sha256(Buffer.of(0x01), abcd, e));
    assert.notDeepEqual(rootOfLeafHashes(h), sha256(Buffer.of(0x01), abcd, sha256(Buffer.of(0x01), e, e)));
  });

  test('the classic 8-leaf tree (transparency-dev/merkle testonly): leaf hashes, every node, roots at sizes 0…8', () => {
    const leafHashes = KAT_LEAVES.map((d) => leafHash(d));
    assert.deepEqual(
      leafHashes.map((x) => x.toString('hex')),
      KAT_LEAF_HASHES,
    );
    const tree = new MemoryTree();
    assert.equal(tree.rootAt().toString('hex'), KAT_ROOTS[0]);
    leafHashes.forEach((x, i) => {
      tree.append(x);
      assert.equal(rootOfLeafHashes(leafHashes.slice(0, i + 1)).toString('hex'), KAT_ROOTS[i + 1], `rootOfLeafHashes at ${i + 1}`);
      assert.equal(tree.rootAt().toString('hex'), KAT_ROOTS[i + 1], `MemoryTree root at ${i + 1}`);
    });
    KAT_LEVEL1.forEach((x, i) => assert.equal(tree.hash(1, i).toString('hex'), x));
    KAT_LEVEL2.forEach((x, i) => assert.equal(tree.hash(2, i).toString('hex'), x));
    assert.equal(tree.hash(3, 0).toString('hex'), KAT_ROOTS[8]);
  });
});
