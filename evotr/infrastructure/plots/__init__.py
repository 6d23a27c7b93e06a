"""PNG plots drawn with matplotlib's Agg canvas (imported only when a plot is asked for)."""
