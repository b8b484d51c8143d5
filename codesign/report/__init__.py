"""Study outputs: CSV/JSON/Markdown files (:mod:`~codesign.report.files`) and the HTML report with its
PNG figures (:mod:`~codesign.report.build`; from Python: :func:`codesign.write_report`)."""
