"""``python -m sklearn_shallowrelu``: the demo on built-in data (see ``_demo.py``)."""

import argparse

from ._demo import run_demo


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m sklearn_shallowrelu", description=__doc__)
    parser.add_argument("--no-plot", action="store_true", help="do not write the figure")
    parser.add_argument("--output", default="shallowrelu_demo.png", help="figure file (default: %(default)s)")
    parser.add_argument("--quick", action="store_true", help="smaller data and widths (a few seconds)")
    args = parser.parse_args(argv)
    if args.quick:
        run_demo(n_samples=90, widths=(20, 100), max_iter=2000, plot=not args.no_plot, output=args.output)
    else:
        run_demo(plot=not args.no_plot, output=args.output)


if __name__ == "__main__":
    main()
