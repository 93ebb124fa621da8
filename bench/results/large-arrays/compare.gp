set terminal svg size 1400,640 dynamic font 'sans,12' background rgb 'white'
set output 'compare.svg'
set multiplot layout 1,2 title "gcheap compare: each variant relative to its workload's baseline (named under the workload); bar = median of 7 paired runs, error bar = smallest to largest" noenhanced
set style data histograms
set style histogram errorbars gap 1 lw 1
set style fill solid 0.85 border -1
set datafile missing '?'
set yrange [0:*]
set grid ytics
set xtics noenhanced
set key at screen 0.5, screen 0.02 center bottom horizontal noenhanced maxrows 2
set bmargin 9
set arrow from graph 0, first 1 to graph 1, first 1 nohead dt 2 lw 1.5
set title 'wall time / baseline (lower is faster)'
plot for [i=0:2] 'compare.dat' using (column(2+6*i)):(column(3+6*i)):(column(4+6*i)):xtic(1) title columnheader(2+6*i)
set title 'peak RSS / baseline (lower is smaller)'
unset key
plot for [i=0:2] 'compare.dat' using (column(5+6*i)):(column(6+6*i)):(column(7+6*i)):xtic(1) title columnheader(2+6*i)
unset multiplot
