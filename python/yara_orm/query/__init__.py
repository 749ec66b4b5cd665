"""The query layer: IR, compiler, expressions, querysets and writes."""
