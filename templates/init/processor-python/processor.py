"""__NAME__: a record processor written with the connector_host kit (standard library only).

The host calls process() for every record of the streams it names, between the source and the
output, in one long-lived child process fed in batches. Return the record (changed or not), None
to drop it, or a list of records to split it. An exception on one record is reported with this
file's name and line; `--processor-errors skip` counts and logs such records instead of failing.

Here: emails are trimmed and lower-cased, an `email_domain` field is added, and records with no
email, or with an email at one of the `blocked_domains` (a keyword argument from vars.json), are
dropped.

Try it on the sample (see README.md):
  host process ./processor.py:process --sample tests/sample.jsonl --vars vars.json
Use it in a run:
  host read ../my-source/source.py --config ../my-source/config.json \\
    --processor ./processor.py:process --processor-vars vars.json --out ./output
"""

import connector_host

USERS_SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "email": {"type": "string"},
        "email_domain": {"type": "string"},
    },
}


@connector_host.processor(streams=["users"], schemas={"users": USERS_SCHEMA})
def process(record, *args, blocked_domains=(), **kwargs):
    email = record.get("email")
    if not email:
        return None  # dropped
    email = str(email).strip().lower()
    domain = email.rpartition("@")[2]
    if domain in blocked_domains:
        return None
    return dict(record, email=email, email_domain=domain)
