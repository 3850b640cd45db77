#!/usr/bin/env node
'use strict';
// Reads the guest's result channel (ttyS1) and writes each file it carries (writeback captures as
// PNGs, the guest's kernel log). A file is framed as `DF-FILE NAME BYTES`, base64 lines,
// `DF-FILE-END NAME`; a frame that was cut off or does not decode to BYTES bytes is reported and
// dropped. Usage: collect.js RAW OUTDIR
const fs = require('node:fs');
const path = require('node:path');

const [raw, outDir] = process.argv.slice(2);
const lines = fs.readFileSync(raw, 'utf8').split('\n');
let cur = null;
let saved = 0;
for (const line of lines) {
  const start = /^DF-FILE (\S+) (\d+)$/.exec(line);
  if (start) {
    cur = { name: start[1], bytes: Number(start[2]), parts: [] };
    continue;
  }
  if (!cur) continue;
  if (line === `DF-FILE-END ${cur.name}`) {
    const data = Buffer.from(cur.parts.join(''), 'base64');
    if (data.length !== cur.bytes || !/^[\w.-]+$/.test(cur.name)) {
      console.error(`kernel lane: ${cur.name} arrived damaged (${data.length} of ${cur.bytes} bytes); dropped`);
    } else {
      fs.writeFileSync(path.join(outDir, cur.name), data);
      if (cur.name.endsWith('.png')) saved++;
    }
    cur = null;
  } else if (/^[A-Za-z0-9+/=]*$/.test(line)) {
    cur.parts.push(line);
  }
}
if (cur) console.error(`kernel lane: ${cur.name} was cut off`);
console.log(`kernel lane: ${saved} writeback capture(s) saved`);
