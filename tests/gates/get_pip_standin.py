# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Stand-in for the get-pip script that ansible-test downloads to start its sanity venvs.

ansible-test creates one virtual environment per sanity test (pylint, validate-modules,
yamllint, ...) without pip, then runs a get-pip script fetched from
ci-files.testing.ansible.com to put pip into it. That host is not reachable from the lab
machines, while PyPI is. tests/gates/sanity.sh puts this file where ansible-test caches the
download, so the bootstrap uses what is at hand instead: ensurepip (the pip wheel that ships
with Python) and then pip itself, which installs the requested pip version from the
configured index. The arguments are those ansible-test gives get-pip: pip options and
package pins such as pip==24.2.
"""

import subprocess
import sys

GET_PIP_ONLY = {"--no-setuptools", "--no-wheel"}  # get-pip options plain pip does not know


def main(argv):
    subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade", "--default-pip"], stdout=subprocess.DEVNULL)
    pip_args = [arg for arg in argv if arg not in GET_PIP_ONLY]
    subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"] + pip_args)


if __name__ == "__main__":
    main(sys.argv[1:])
