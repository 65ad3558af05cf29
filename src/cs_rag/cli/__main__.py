"""`python -m cs_rag.cli`: the cs-rag command."""

from cs_rag.cli import main

raise SystemExit(main())
