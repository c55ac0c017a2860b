// __NAME__: a record processor written with the connector-host kit. No build step and no npm
// install: the host runs this file through its own TypeScript loader, and `connector-host/kit`
// resolves to the host's own copy of the kit.
//
// The host calls process() for every record of the streams it names, between the source and
// the output, in one long-lived child process fed in batches. Return the record (changed or not),
// null to drop it, or an array of records to split it. An exception on one record is reported
// with this file's name and line; `--processor-errors skip` counts and logs such records instead.
//
// Here: emails are trimmed and lower-cased, an `email_domain` field is added, and records with
// no email, or with an email at one of the `blocked_domains` (a keyword argument from
// vars.json), are dropped.
//
// Try it on the sample (see README.md):
//   host process ./processor.ts --sample tests/sample.jsonl --vars vars.json

import { defineProcessor } from 'connector-host/kit';

type Row = Record<string, unknown>;

export default defineProcessor({
  streams: ['users'],
  schemas: {
    users: {
      type: 'object',
      properties: {
        id: { type: 'integer' },
        name: { type: 'string' },
        email: { type: 'string' },
        email_domain: { type: 'string' },
      },
    },
  },
  process(record: Row, { kwargs }: { kwargs: Record<string, unknown> }) {
    const raw = record['email'];
    if (!raw) return null; // dropped
    const email = String(raw).trim().toLowerCase();
    const domain = email.slice(email.lastIndexOf('@') + 1);
    const blocked = (kwargs['blocked_domains'] as string[] | undefined) ?? [];
    if (blocked.includes(domain)) return null;
    return { ...record, email, email_domain: domain };
  },
});
