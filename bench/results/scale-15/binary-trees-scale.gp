set terminal svg size 1500,600 dynamic font 'sans,12' background rgb 'white'
set output 'bench/results/scale-15/binary-trees-scale.svg'
set multiplot layout 1,3 title "gcheap compare --scale binary-trees:16..21: point = median of 3 runs, error bar = smallest to largest" noenhanced
set datafile missing '?'
set logscale y
set offsets graph 0.03, graph 0.03, 0, 0
set grid xtics ytics
set xlabel "N (the workload's argument, not live size: the native programs report none)" noenhanced
set key at screen 0.5, screen 0.01 center bottom horizontal noenhanced maxcols 5 width 2
set bmargin 10
set xtics (16, 17, 18, 19, 20, 21)
set title 'wall time (s)'
plot 'bench/results/scale-15/binary-trees-scale.dat' index 0 using 1:2:3:4 with yerrorlines lw 1.5 lc rgb '#1f77b4' dt 1 pt 7 ps 0.6 title "tracing", \
     'bench/results/scale-15/binary-trees-scale.dat' index 1 using 1:2:3:4 with yerrorlines lw 1.5 lc rgb '#ff7f0e' dt 1 pt 7 ps 0.6 title "refcount", \
     'bench/results/scale-15/binary-trees-scale.dat' index 2 using 1:2:3:4 with yerrorlines lw 1.5 lc rgb '#2ca02c' dt 2 pt 7 ps 0.6 title "boehm-native", \
     'bench/results/scale-15/binary-trees-scale.dat' index 3 using 1:2:3:4 with yerrorlines lw 1.5 lc rgb '#d62728' dt 2 pt 7 ps 0.6 title "boehm-native-inline"
unset key
set title 'peak RSS (MiB)'
plot 'bench/results/scale-15/binary-trees-scale.dat' index 0 using 1:5:6:7 with yerrorlines lw 1.5 lc rgb '#1f77b4' dt 1 pt 7 ps 0.6 title "tracing", \
     'bench/results/scale-15/binary-trees-scale.dat' index 1 using 1:5:6:7 with yerrorlines lw 1.5 lc rgb '#ff7f0e' dt 1 pt 7 ps 0.6 title "refcount", \
     'bench/results/scale-15/binary-trees-scale.dat' index 2 using 1:5:6:7 with yerrorlines lw 1.5 lc rgb '#2ca02c' dt 2 pt 7 ps 0.6 title "boehm-native", \
     'bench/results/scale-15/binary-trees-scale.dat' index 3 using 1:5:6:7 with yerrorlines lw 1.5 lc rgb '#d62728' dt 2 pt 7 ps 0.6 title "boehm-native-inline"
set title 'longest pause (ms; lines only for variants that report one)'
plot 'bench/results/scale-15/binary-trees-scale.dat' index 0 using 1:8:9:10 with yerrorlines lw 1.5 lc rgb '#1f77b4' dt 1 pt 7 ps 0.6 title "tracing", \
     'bench/results/scale-15/binary-trees-scale.dat' index 1 using 1:8:9:10 with yerrorlines lw 1.5 lc rgb '#ff7f0e' dt 1 pt 7 ps 0.6 title "refcount", \
     'bench/results/scale-15/binary-trees-scale.dat' index 2 using 1:8:9:10 with yerrorlines lw 1.5 lc rgb '#2ca02c' dt 2 pt 7 ps 0.6 title "boehm-native", \
     'bench/results/scale-15/binary-trees-scale.dat' index 3 using 1:8:9:10 with yerrorlines lw 1.5 lc rgb '#d62728' dt 2 pt 7 ps 0.6 title "boehm-native-inline"
unset multiplot
