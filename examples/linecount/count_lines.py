"""The node script of the line-count example workload (standard library only).

    python3 count_lines.py FILE

Counts the lines and bytes of FILE and PUTs ``<lines>\t<bytes>\n`` to the
blob whose write SAS URL is in ``$RESULT_URL``.
"""

import os
import sys
import urllib.request


def main() -> int:
    with open(sys.argv[1], "rb") as f:
        data = f.read()
    body = b"%d\t%d\n" % (data.count(b"\n"), len(data))
    request = urllib.request.Request(os.environ["RESULT_URL"], data=body, method="PUT",
                                     headers={"x-ms-blob-type": "BlockBlob"})
    urllib.request.urlopen(request, timeout=30).close()
    print("counted", sys.argv[1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
