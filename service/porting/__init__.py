"""Moving comments in and out: importers, the JSON backup, and their CLI.

Every format module turns a file into a :class:`~service.porting.source.Source`
(threads and comments as the file has them, nothing written yet); the shared
:mod:`~service.porting.importer` then decides what is new and writes it all in
one transaction.  :mod:`~service.porting.backup` writes Causerie's own JSON
export, which the ``json`` importer restores.
"""

FORMATS = ("disqus", "wordpress", "isso", "json")
