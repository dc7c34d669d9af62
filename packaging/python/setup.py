"""docstore for Python's sqlite3: the loadable extension and a helper.

Built by scripts/package with Debian's tools and no index:
    python3 -m pip wheel --no-index --no-build-isolation --no-deps STAGE
where STAGE is this directory with docstore/docstore.so and the version
filled in.
"""
from setuptools import setup
from setuptools.dist import Distribution


class BinaryDistribution(Distribution):
    """The wheel carries a shared object: it is for this platform only."""

    def has_ext_modules(self):
        return True


setup(
    name="docstore",
    version="@VERSION@",
    description="docstore, a document store inside SQLite: the loadable extension and load(conn)",
    license="MIT",
    packages=["docstore"],
    package_data={"docstore": ["docstore.so"]},
    distclass=BinaryDistribution,
    python_requires=">=3.8",
)
