"""python -m sdn_tf.native: builds the native sweep kernel (unless cached),
loads it and prints its path; exits 1 with the reason when it cannot."""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from sdn_tf import native  # noqa: E402


def main():
    try:
        native.load()
    except native.BuildError as error:
        print(f"sdn_tf.native: the kernel could not be built: {error}", file=sys.stderr)
        return 1
    print(native.library_path())
    return 0


if __name__ == "__main__":
    sys.exit(main())
