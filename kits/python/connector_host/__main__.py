"""python3 -m connector_host TARGET COMMAND [ARGS]   (TARGET: file.py[:Name] or folder[:Name])
python3 -m connector_host --path                  (the folder that goes on PYTHONPATH)"""

import os
import sys

USAGE = """usage: python3 -m connector_host TARGET COMMAND [ARGS]
  TARGET   file.py[:Name] or package-folder[:Name]: a @source, @resource, or a paginated
           source, Reader or Writer class
  COMMAND  spec | check --config F | discover --config F | read --config F --catalog F [--state F]
           | write --config F --catalog F (writers)
       python3 -m connector_host --path   prints the folder to put on PYTHONPATH
"""


def _main():
    args = sys.argv[1:]
    if not args or args[0] in ("-h", "--help"):
        sys.stderr.write(USAGE)
        return 0 if args else 2
    if args[0] == "--path":
        sys.stdout.write(os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + "\n")
        return 0
    target = args[0]
    sys.argv = [target] + args[1:]
    from ._cli import main, report
    from ._out import Out
    from ._load import load, LoadError

    try:
        obj = load(target)
    except BaseException as e:
        if isinstance(e, (KeyboardInterrupt, SystemExit)):
            raise
        if isinstance(e, LoadError):
            sys.stderr.write("connector_host: %s\n" % e)
        report(Out(sys.stdout.buffer), e)
        return 1
    main(obj, args[1:])
    return 0


if __name__ == "__main__":
    sys.exit(_main())
