import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startupEnvDifferences, statusDifferences, umaskOf } from './caller-check';

const STATUS = `Name:\tnode
Umask:\t0022
Uid:\t0\t0\t0\t0
Gid:\t0\t0\t0\t0
Groups:\t
NStgid:\t100
CapInh:\t0000000000000000
CapPrm:\t000001ffffffffff
CapEff:\t000001ffffffffff
CapBnd:\t000001ffffffffff
CapAmb:\t0000000000000000
NoNewPrivs:\t0
Seccomp:\t0
`;

test('identical credentials give no difference, whatever the pid lines say', () => {
  assert.deepEqual(statusDifferences(STATUS, STATUS.replace('NStgid:\t100', 'NStgid:\t200')), []);
});

test('an empty Groups line is compared as empty, not with the line after it', () => {
  assert.deepEqual(statusDifferences(STATUS, STATUS.replace('Groups:\t', 'Groups:\t27')), ['Groups']);
});

test('capabilities, no_new_privs and seccomp differences are named', () => {
  const other = STATUS.replace('CapEff:\t000001ffffffffff', 'CapEff:\t00000000a80425fb').replace('NoNewPrivs:\t0', 'NoNewPrivs:\t1').replace('Seccomp:\t0', 'Seccomp:\t2');
  assert.deepEqual(statusDifferences(STATUS, other), ['CapEff', 'NoNewPrivs', 'Seccomp']);
});

test('umask is read as octal', () => {
  assert.equal(umaskOf(STATUS), 0o022);
  assert.equal(umaskOf('Name:\tx\n'), undefined);
});

test('variables Node reads at start must match; empty is unset; others may differ', () => {
  assert.deepEqual(startupEnvDifferences({ NODE_EXTRA_CA_CERTS: '', PATH: '/a' }, { PATH: '/b' }), []);
  assert.deepEqual(startupEnvDifferences({}, { NODE_EXTRA_CA_CERTS: '/etc/ca.pem', NODE_OPTIONS: '' }), ['NODE_EXTRA_CA_CERTS']);
  assert.deepEqual(startupEnvDifferences({ NODE_OPTIONS: '--max-old-space-size=64' }, {}), ['NODE_OPTIONS']);
});

