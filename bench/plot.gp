# Renders jt-bench's CSV (jt-bench --csv, or --csv-file) to one PNG:
# left, throughput against G (fanin: T threads complete prebuilt txns;
# growth: one thread, all txns of a round in flight), jobtxn and the mutex
# peer; right, throughput against completer threads (scaling: fanin G=64),
# with the pool workload (jobtxn and libuv) at its thread count.
#   gnuplot -e "csv='results.csv'; png='throughput.png'" bench/plot.gp
if (!exists("csv")) csv = 'bench/results/jt-bench.csv'
if (!exists("png")) png = 'bench/results/throughput.png'

set terminal pngcairo size 1200,480 font ",10"
set output png
set datafile separator ","
set datafile missing ""
set key top left
set grid
set ylabel "million jobs/s (median)"
set yrange [0:*]

# The rows of one workload and implementation (columns 1 and 2); column 3 is
# G, 4 the threads, 8 ops_per_s (jobs/s).
rows(w, i) = sprintf("< awk -F, '$1 == \"%s\" && $2 == \"%s\"' '%s'", w, i, csv)

set multiplot layout 1,2 title "jt-bench: median jobs/s, jobtxn and its peers"
set title "throughput against G (jobs per txn)"
set xlabel "G"
set logscale x 2
plot rows("fanin", "jobtxn") using 3:($8 / 1e6) with linespoints lw 2 pt 7 title "fanin jobtxn", \
     rows("fanin", "mutex") using 3:($8 / 1e6) with linespoints lw 2 pt 5 title "fanin mutex", \
     rows("growth", "jobtxn") using 3:($8 / 1e6) with linespoints lw 2 pt 9 title "growth jobtxn (1 thread)", \
     rows("growth", "mutex") using 3:($8 / 1e6) with linespoints lw 2 pt 11 title "growth mutex (1 thread)"
unset logscale x
set title "throughput against threads"
set xlabel "completer threads (scaling, G=64) / workers (pool, G=64)"
set xtics 1
plot rows("scaling", "jobtxn") using 4:($8 / 1e6) with linespoints lw 2 pt 7 title "scaling jobtxn", \
     rows("scaling", "mutex") using 4:($8 / 1e6) with linespoints lw 2 pt 5 title "scaling mutex", \
     rows("pool", "jobtxn") using 4:($8 / 1e6) with points pt 13 ps 2 title "pool jobtxn", \
     rows("pool", "libuv") using 4:($8 / 1e6) with points pt 15 ps 2 title "pool libuv"
unset multiplot
