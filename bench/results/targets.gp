set terminal svg size 1100,680 dynamic font 'sans,12' background rgb 'white'
set output 'targets.svg'
set title "gcheap: wall time relative to native Boehm GC (shared libgc)\ncollector=boehm where a workload has no native version; median of 15 paired runs" noenhanced
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set datafile missing '?'
set ylabel 'wall time / baseline (lower is faster)'
set yrange [0:*]
set grid ytics
set key outside below center horizontal noenhanced
set xtics noenhanced
set arrow from graph 0, first 1 to graph 1, first 1 nohead dt 2 lw 1.5
plot for [i=2:5] 'targets.dat' using i:xtic(1) title columnheader(i)
