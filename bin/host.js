#!/usr/bin/env node
import { main } from '../dist/cli/main.js';

// Defense in depth, in the CLI only (the library never changes globals): like node's
// --disable-proto=delete, without the Object.prototype.__proto__ accessor an assignment of a
// "__proto__" key read from outside makes an own property, never a prototype.
delete Object.prototype.__proto__;

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
