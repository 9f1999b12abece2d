#!/usr/bin/perl
# SPDX-License-Identifier: MIT
# report.pl - turns tools/bench/run's raw.txt (one "key=value ..." line per measurement) into
# results.md (medians, min-max, ratios to the direct connection and to HAProxy, the goals)
# and, with gnuplot, charts *.png; prints the tables. Perl core modules only.
#
#   report.pl --raw FILE --meta FILE --out DIR --contenders "a b c" [--charts 0|1]
use strict;
use warnings;
use Getopt::Long;
use List::Util qw(min max sum);
use POSIX qw(floor);

my ($raw, $meta, $out, $contenders, $charts) = ('', '', '.', '', 1);
GetOptions('raw=s' => \$raw, 'meta=s' => \$meta, 'out=s' => \$out,
	   'contenders=s' => \$contenders, 'charts=i' => \$charts) or die "usage\n";
my @who = split ' ', $contenders;

# ---- read ---------------------------------------------------------------------------------
my $QUIET = 0.2;	# other users' load (CPUs) under which a CPU figure is kept
my %m;		# m{phase}{test}{who}{metric} = [values of good runs]
my %runs;	# runs{phase}{test}{who} = [total, good]
my %restarts;
my %died;	# died{who} = connections it held when it died in the idle test
my @foreign;
open my $fh, '<', $raw or die "$raw: $!\n";
while (my $line = <$fh>) {
	chomp $line;
	my %kv = map { /^([^=]+)=(.*)$/ ? ($1, $2) : () } split ' ', $line;
	next unless $kv{phase} && $kv{test} && $kv{who};
	my ($p, $t, $w) = @kv{qw(phase test who)};
	if ($t eq 'restart' || $t eq 'start') {
		$restarts{$w}++;
		next;
	}
	$runs{$p}{$t}{$w}[0]++;
	if ($kv{died}) {
		$died{$w} = max($died{$w} // 0, $kv{conns_before_death} // 0);
		next;
	}
	my $good = ($kv{ok} // 0) eq '1' || ($t eq 'idle' && ($kv{conns} // 0) > 0);
	next unless $good;
	$runs{$p}{$t}{$w}[1]++;
	push @foreign, $kv{foreign_load} if defined $kv{foreign_load};
	for my $k (keys %kv) {
		next unless $kv{$k} =~ /^-?[0-9.]+(e[-+]?\d+)?$/;
		push @{$m{$p}{$t}{$w}{$k}}, $kv{$k};
		# CPU attribution needs a quiet machine: softirq work lands on whatever task runs
		if ($k =~ /^cpu_(per_gib|us_per_conn)$/ && ($kv{foreign_load} // 0) <= $QUIET) {
			push @{$m{$p}{$t}{$w}{"quiet_$k"}}, $kv{$k};
		}
	}
}
close $fh;

my %meta;
if (open my $mh, '<', $meta) {
	while (<$mh>) {
		chomp;
		$meta{$1} = $2 if /^([^=]+)=(.*)$/;
	}
}

sub median {
	my @v = sort { $a <=> $b } @_;
	return undef unless @v;
	return @v % 2 ? $v[$#v / 2] : ($v[@v / 2 - 1] + $v[@v / 2]) / 2;
}

# st(phase, test, who, metric) = (median, min, max, n) or ()
sub st {
	my ($p, $t, $w, $k) = @_;
	my $v = $m{$p}{$t}{$w}{$k} or return ();
	return () unless @$v;
	return (median(@$v), min(@$v), max(@$v), scalar @$v);
}

sub med { my @s = st(@_); return @s ? $s[0] : undef }

# The CPU samples taken on a quiet machine if there are any, else all of them, marked.
sub cpukey {
	my ($p, $t, $w, $k) = @_;
	return @{$m{$p}{$t}{$w}{"quiet_$k"} // []} ? "quiet_$k" : $k;
}

sub fmt {
	my ($v) = @_;
	return '–' unless defined $v;
	my $a = abs $v;
	return sprintf('%.0f', $v) if $a >= 1000;
	return sprintf('%.1f', $v) if $a >= 100;
	return sprintf('%.2f', $v) if $a >= 10;
	return sprintf('%.2f', $v) if $a >= 1;
	return sprintf('%.3f', $v);
}

sub ratio {
	my ($a, $b) = @_;
	return undef unless defined $a && defined $b && $b != 0;
	return $a / $b;
}

sub fr { my $r = shift; return defined $r ? sprintf('%.2f×', $r) : '–' }

# A cell: median (min–max), and ratios to direct and to HAProxy where they apply.
sub cell {
	my ($p, $t, $w, $k, %o) = @_;
	my $mark = '';
	if ($k =~ /^cpu_/) {
		$mark = cpukey($p, $t, $w, $k) eq $k && @{$m{$p}{$t}{$w}{$k} // []} ? ' †' : '';
		$k = cpukey($p, $t, $w, $k);
	}
	my @s = st($p, $t, $w, $k);
	my ($total, $good) = @{$runs{$p}{$t}{$w} // [0, 0]};
	return $total ? "failed ($total runs)" : '–' unless @s;
	my $c = fmt($s[0]) . ($s[3] > 1 ? ' (' . fmt($s[1]) . '–' . fmt($s[2]) . ')' : '') . $mark;
	$c .= " [$good/$total ok]" if $good < $total;
	return $c if $o{noratio};
	my @r;
	my $base = $k =~ s/^quiet_//r;
	my ($dk, $hk) = map { $base =~ /^cpu_/ ? cpukey($p, $t, $_, $base) : $base } qw(direct haproxy);
	push @r, fr(ratio($s[0], med($p, $t, 'direct', $dk))) . ' direct'
		if $w ne 'direct' && defined med($p, $t, 'direct', $dk);
	push @r, fr(ratio($s[0], med($p, $t, 'haproxy', $hk))) . ' HAProxy'
		if $w ne 'haproxy' && defined med($p, $t, 'haproxy', $hk);
	return @r ? "$c<br>" . join(', ', @r) : $c;
}

my %label = (
	'direct' => 'direct (no proxy)',
	'sockmux-sockmap' => 'sockmux sockmap',
	'sockmux-splice' => 'sockmux splice',
	'sockmux-unbounded' => 'sockmux sockmap-unbounded (control)',
	'haproxy' => 'HAProxy (splice-auto)',
	'nginx' => 'nginx stream',
	'sslh' => 'sslh-select',
	'sniproxy' => 'sniproxy',
);
sub lab { return $label{$_[0]} // $_[0] }

sub table {
	my ($head, @rows) = @_;
	my $s = '| ' . join(' | ', @$head) . " |\n|" . join('|', map { '---' } @$head) . "|\n";
	$s .= '| ' . join(' | ', @$_) . " |\n" for @rows;
	return $s;
}

# ---- tables -------------------------------------------------------------------------------
my $md = '';
my $pace = $meta{profile} // '';
($pace) = ($meta{profile} =~ /pace_gbps=(\S+)/) if $meta{profile};
my ($idle_n) = (($meta{profile} // '') =~ /idle_conns=(\d+)/);
$idle_n //= '?';

$md .= "## Bulk throughput, veth (Gbit/s, counted by the receiver)\n\n";
$md .= table(['contender', '1 stream up', '1 stream down', '4 streams up', '4 streams down'],
	map { my $w = $_; [lab($w), map { cell('veth', $_, $w, 'gbps') }
		qw(bulk1-up bulk1-down bulk4-up bulk4-down)] } @who);
$md .= "\n\"up\" is client to server. For \"up\", the sender's own count (client_gbps in raw.txt) "
     . "can exceed the receiver's when a proxy queues bytes it has not delivered.\n\n";

$md .= "## Request/response latency, veth: 64-byte ping-pong (µs)\n\n";
$md .= table(['contender', 'p50', 'p99', 'p99.9', 'p99 added over direct'],
	map { my $w = $_;
		my $add = defined med('veth', 'rr', $w, 'p99_us') && defined med('veth', 'rr', 'direct', 'p99_us')
			? med('veth', 'rr', $w, 'p99_us') - med('veth', 'rr', 'direct', 'p99_us') : undef;
		[lab($w), (map { cell('veth', 'rr', $w, $_) } qw(p50_us p99_us p999_us)),
		 $w eq 'direct' ? '–' : fmt($add)] } @who);
$md .= "\n";

$md .= "## New connections per second, veth (a ClientHello, a 512-byte answer, close)\n\n";
$md .= table(['contender', 'conn/s, 2 workers', 'connection time p50 (µs)', 'p99 (µs)',
	      'CPU µs per connection', 'conn/s, 1 worker', 'CPU µs per connection, 1 worker'],
	map { my $w = $_; [lab($w), cell('veth', 'cps', $w, 'cps'),
		cell('veth', 'cps', $w, 'conn_p50_us', noratio => 1),
		cell('veth', 'cps', $w, 'conn_p99_us', noratio => 1),
		cell('veth', 'cps', $w, 'cpu_us_per_conn'),
		cell('veth', 'cps-w1', $w, 'cps'), cell('veth', 'cps-w1', $w, 'cpu_us_per_conn')] } @who);
$md .= "\n\"Workers\" are sockmux's `workers`, HAProxy's `nbthread`, nginx's `worker_processes` "
     . "(sslh and sniproxy run as they always do). The load generator runs 2 threads of 16 "
     . "connections at a time on the same 2 cores.\n\n";

sub added {
	my ($t, $w, $k) = @_;
	my ($a, $d) = (med('veth', $t, $w, $k =~ /^cpu_/ ? cpukey('veth', $t, $w, $k) : $k),
		       med('veth', $t, 'direct', $k =~ /^cpu_/ ? cpukey('veth', $t, 'direct', $k) : $k));
	return defined $a && defined $d ? $a - $d : undef;
}
$md .= "## CPU cost, veth (CPU-seconds per GiB relayed, every task on the machine)\n\n";
$md .= table(['contender', 'saturated (1 stream up)', "paced at $pace Gbit/s", 'paced: added over direct',
	      'added ÷ HAProxy\'s added', 'paced rate reached (Gbit/s)'],
	map { my $w = $_;
		my $add = added('paced', $w, 'cpu_per_gib');
		my $hadd = added('paced', 'haproxy', 'cpu_per_gib');
		[lab($w), cell('veth', 'bulk1-up', $w, 'cpu_per_gib'), cell('veth', 'paced', $w, 'cpu_per_gib'),
		 $w eq 'direct' ? '–' : fmt($add),
		 $w eq 'direct' || $w eq 'haproxy' ? '–' : fr(ratio($add, $hadd)),
		 cell('veth', 'paced', $w, 'gbps', noratio => 1)] } @who);
$md .= "\nCPU is the schedstat run time of every task in the benchmark's namespaces and of every "
     . "kernel thread (softirq work is charged to the task it interrupted, or to ksoftirqd; "
     . "kworkers are kernel threads), summed over the measurement window. The load generator's "
     . "own CPU is in every row, the direct row included, so the proxy's cost is the difference. "
     . "On a busy machine that attribution fails (softirq work lands on other users' tasks), so "
     . "only samples taken while other users' load stayed under $QUIET CPUs count; † marks a "
     . "figure that had no such sample and uses all of them.\n\n";

$md .= "## Memory, veth\n\n";
$md .= "$idle_n idle connections held open through each contender (after a routed ClientHello "
     . "and the server's answer): as many as the open-files limit allows every contender; "
     . "deltas from just before they opened, except the user memory against an idle process "
     . "sized for 1024 connections.\n\n";
$md .= table(['contender', 'connections held', 'user RSS (MiB)', 'user RSS per connection (B)',
	      'user memory per connection vs an idle max_connections = 1024 (B)',
	      'new connection set-up p99, idle / held (µs)',
	      'kernel slab per connection (B)', 'slab added over direct (B/conn)',
	      'kernel, machine-wide, per connection (B)', 'machine noise (KiB)'],
	map { my $w = $_;
		my $noise = max(@{$m{veth}{idle}{$w}{kernel_noise_kib} // [0]});
		my ($pi, $ph) = (med('veth', 'idle', $w, 'setup_p99_idle_us'), med('veth', 'idle', $w, 'setup_p99_held_us'));
		[lab($w), $died{$w} && !@{$m{veth}{idle}{$w}{conns} // []} ? "**died** after $died{$w}"
			: cell('veth', 'idle', $w, 'conns', noratio => 1),
		 $w eq 'direct' ? '–' : fmt(defined med('veth', 'idle', $w, 'rss_kib') ? med('veth', 'idle', $w, 'rss_kib') / 1024 : undef),
		 $w eq 'direct' ? '–' : cell('veth', 'idle', $w, 'rss_b_per_conn', noratio => 1),
		 $w eq 'direct' ? '–' : cell('veth', 'idle', $w, 'user_b_per_conn', noratio => 1),
		 $pi || $ph ? fmt($pi) . ' / ' . fmt($ph) . ($pi ? ' (' . fr(ratio($ph, $pi)) . ')' : '') : '–',
		 cell('veth', 'idle', $w, 'slab_b_per_conn', noratio => 1),
		 $w eq 'direct' ? '–' : fmt(added('idle', $w, 'slab_b_per_conn')),
		 cell('veth', 'idle', $w, 'kernel_b_per_conn', noratio => 1), fmt($noise)] } @who);
$md .= "\nEach contender is restarted just before, so user RSS is that of a process that "
     . "has served nothing else (sockmux with `workers = 1` here: each worker takes a fixed "
     . "share of `max_connections` and SO_REUSEPORT spreads newcomers by hash, not evenly). "
     . "The baseline of the user memory column is the same contender started with "
     . "`max_connections = 1024` (HAProxy `maxconn 1024`, nginx `worker_connections 1024`) after "
     . "serving the same set-up probe, so memory sized by the configured maximum counts. The "
     . "set-up probe is one connection at a time (a ClientHello, a 512-byte answer, a close) for "
     . "0.7 s, before the idle connections open and while they are held. \"Kernel slab\" sums live objects × object size over "
     . "/proc/slabinfo: what idle connections are made of (sockets, files, epoll items, pipes, "
     . "BPF map entries); it covers the client's and server's sockets too, hence the column "
     . "relative to the direct connection. The machine-wide figure is MemTotal − MemFree − "
     . "Buffers − Cached − AnonPages from /proc/meminfo, which other users' work moves too "
     . "(each reading is the median of 5 samples, retried while they spread over more than "
     . "4 MiB; \"machine noise\" is the largest spread seen).\n\n";

$md .= "### Slow reader: a fast client, a backend reading at 10 Mbit/s\n\n";
$md .= table(['contender', 'held on the way, peak (MiB)', 'peak kernel memory (MiB)',
	      'after close (MiB)', 'client got rid of (MiB)', 'stopped by'],
	map { my $w = $_;
		my $floor = max(@{$m{veth}{slow}{$w}{hit_floor} // [0]});
		my $cap = max(@{$m{veth}{slow}{$w}{hit_cap} // [0]});
		[lab($w), cell('veth', 'slow', $w, 'held_peak_mib'), cell('veth', 'slow', $w, 'peak_kernel_mib'),
		 cell('veth', 'slow', $w, 'after_close_mib', noratio => 1),
		 cell('veth', 'slow', $w, 'sent_mib', noratio => 1),
		 $floor ? 'memory floor' : $cap ? 'send cap' : 'time'] } @who);
$md .= "\n\"held on the way\" counts bytes: what the client's kernel had accepted minus what "
     . "the backend can have read by then (10 Mbit/s since the start), at its largest; it is "
     . "exact and immune to other users' load. \"peak kernel memory\" is the machine-wide "
     . "figure above, sampled every 10 ms, from just before the connection; it includes skb "
     . "overhead. \"after close\" is what was still held once the client reset the connection "
     . "(waited for up to 5 s).\n\n";

$md .= "## Loopback (client, proxy and server in one namespace)\n\n";
$md .= table(['contender', '1 stream up (Gbit/s)', 'ping-pong p50 (µs)', 'p99 (µs)', 'p99.9 (µs)'],
	map { my $w = $_; [lab($w), cell('lo', 'bulk1-up', $w, 'gbps'),
		(map { cell('lo', 'rr', $w, $_) } qw(p50_us p99_us p999_us))] } @who);
$md .= "\n";

# ---- goals --------------------------------------------------------------------------------
sub verdict { my ($ok) = @_; return !defined $ok ? 'no data' : $ok ? '**met**' : 'missed' }
my ($rmax, $wmax) = (0, 0);
($rmax) = ($meta{tcp_rmem} =~ /(\d+)\s*$/) if $meta{tcp_rmem};
($wmax) = ($meta{tcp_wmem} =~ /(\d+)\s*$/) if $meta{tcp_wmem};
my $goals = '';
for my $w (grep { /^sockmux/ } @who) {
	my @rows;
	my @bulk = qw(bulk1-up bulk1-down bulk4-up bulk4-down);
	my (@rd, @rh);
	for my $t (@bulk) {
		push @rd, ratio(med('veth', $t, $w, 'gbps'), med('veth', $t, 'direct', 'gbps'));
		push @rh, ratio(med('veth', $t, $w, 'gbps'), med('veth', $t, 'haproxy', 'gbps'));
	}
	my $okd = (grep { !defined } @rd) ? undef : !(grep { $_ < 0.95 } @rd);
	my $okh = (grep { !defined } @rh) ? undef : !(grep { $_ < 1.25 } @rh);
	push @rows, ['bulk throughput ≥ 0.95× direct (each of the 4 bulk tests)',
		     join(', ', map { fr($_) } @rd), verdict($okd)];
	push @rows, ['bulk throughput ≥ 1.25× HAProxy with splice', join(', ', map { fr($_) } @rh), verdict($okh)];
	my $ca = added('paced', $w, 'cpu_per_gib');
	my $ch = added('paced', 'haproxy', 'cpu_per_gib');
	my $cr = ratio($ca, $ch);
	push @rows, ["CPU added over direct at $pace Gbit/s ≤ 0.5× HAProxy's",
		     defined $ca && defined $ch ? sprintf('%s vs %s CPU-s/GiB (%s)', fmt($ca), fmt($ch), fr($cr)) : '–',
		     verdict(defined $cr ? ($ch > 0 && $cr <= 0.5) : undef)];
	my $la = added('rr', $w, 'p99_us');
	my $lh = added('rr', 'haproxy', 'p99_us');
	my $lr = ratio($la, $lh);
	push @rows, ["p99 latency added over direct ≤ 0.5× HAProxy's",
		     defined $la && defined $lh ? sprintf('%s vs %s µs (%s)', fmt($la), fmt($lh), fr($lr)) : '–',
		     verdict(defined $la && defined $lh ? ($la <= 0.5 * $lh) : undef)];
	for my $t (qw(cps cps-w1)) {
		my $nw = $t eq 'cps' ? '2 workers' : '1 worker';
		my $cps = ratio(med('veth', $t, $w, 'cps'), med('veth', $t, 'haproxy', 'cps'));
		my $cpn = ratio(med('veth', $t, $w, 'cps'), med('veth', $t, 'nginx', 'cps'));
		push @rows, ["conn/s ≥ 1.2× HAProxy's and ≥ nginx's ($nw)", fr($cps) . ', ' . fr($cpn),
			     verdict(defined $cps && defined $cpn ? $cps >= 1.2 && $cpn >= 1 : undef)];
		my $cu = ratio(med('veth', $t, $w, cpukey('veth', $t, $w, 'cpu_us_per_conn')),
			       med('veth', $t, 'haproxy', cpukey('veth', $t, 'haproxy', 'cpu_us_per_conn')));
		push @rows, ["CPU per connection ≤ HAProxy's ($nw)", fr($cu), verdict(defined $cu ? $cu <= 1 : undef)];
	}
	my $conns = med('veth', 'idle', $w, 'conns');
	push @rows, ['idle connections held ≥ 9900 (the 20 000-descriptor budget)', fmt($conns),
		     verdict(defined $conns ? $conns >= 9900 : undef)];
	my $rss = med('veth', 'idle', $w, 'user_b_per_conn') // med('veth', 'idle', $w, 'rss_b_per_conn');
	push @rows, ['user-space memory ≤ 1 KiB per connection (against an idle max_connections = 1024)',
		     defined $rss ? fmt($rss) . ' B' : '–', verdict(defined $rss ? $rss <= 1024 : undef)];
	my ($ks, $kh) = (med('veth', 'idle', $w, 'slab_b_per_conn'), med('veth', 'idle', 'haproxy', 'slab_b_per_conn'));
	push @rows, ["kernel memory per idle connection ≤ HAProxy's (slab)",
		     defined $ks && defined $kh ? fmt($ks) . ' vs ' . fmt($kh) . ' B' : '–',
		     verdict(defined $ks && defined $kh ? $ks <= $kh : undef)];
	my ($pi, $ph) = (med('veth', 'idle', $w, 'setup_p99_idle_us'), med('veth', 'idle', $w, 'setup_p99_held_us'));
	push @rows, ['new connection set-up p99 with the idle ones held ≤ 2× idle',
		     $pi && $ph ? fmt($ph) . ' vs ' . fmt($pi) . ' µs (' . fr(ratio($ph, $pi)) . ')' : '–',
		     verdict($pi && $ph ? $ph <= 2 * $pi : undef)];
	my $kadd = added('idle', $w, 'slab_b_per_conn');
	my $total = defined $rss && defined $kadd ? (100000 * ($rss + $kadd)) / 2**30 : undef;
	push @rows, ['100 000 connections within 4 GiB (user + kernel slab added over direct, per connection)',
		     defined $total ? sprintf('%.2f GiB', $total) : '–',
		     verdict(defined $total ? $total <= 4 : undef)];
	my $held = med('veth', 'slow', $w, 'held_peak_mib');
	my $peak = med('veth', 'slow', $w, 'peak_kernel_mib');
	my $dheld = med('veth', 'slow', 'direct', 'held_peak_mib');
	my $bound = defined $dheld ? max($dheld, 0) + 2 * ($rmax + $wmax) / 1048576 : undef;
	push @rows, [sprintf('slow reader: what the path holds is bounded by socket buffers (≤ direct\'s + 2 × (tcp_rmem max + tcp_wmem max) = %s MiB)', fmt($bound)),
		     defined $held ? fmt($held) . ' MiB held, ' . fmt($peak) . ' MiB kernel peak' : '–',
		     verdict(defined $held && defined $bound ? $held <= $bound : undef)];
	$goals .= "### " . lab($w) . "\n\n" . table(['goal', 'measured', ''], @rows) . "\n";
}

# ---- whole document -----------------------------------------------------------------------
my $fmed = @foreign ? median(@foreign) : 0;
my $fmax = @foreign ? max(@foreign) : 0;
my $doc = "# sockmux benchmark results\n\n";
my $cmd = join(' ', 'tools/bench/run', $meta{args} // ());
$cmd =~ s/\s+$//;
$doc .= "Produced by `$cmd` (`make bench`); every figure below was measured in "
      . "this one run. Medians of the repetitions, (min–max) across them, and each figure as a "
      . "ratio to the direct connection and to HAProxy measured in the same run.\n\n";
$doc .= table(['', ''],
	['date', $meta{date} // '?'],
	['machine', ($meta{cpu} // '?') . ", $meta{mem}"],
	['kernel', $meta{kernel} // '?'],
	['OS', $meta{os} // '?'],
	['sockmux', $meta{sockmux} // '?'],
	['HAProxy', $meta{haproxy} // '?'],
	['nginx', $meta{nginx} // '?'],
	['sslh', $meta{sslh} // '?'],
	['sniproxy', $meta{sniproxy} // '?'],
	['settings', $meta{profile} // '?'],
	['load generator check', defined med('veth', 'iperf3', 'direct', 'gbps')
		? sprintf('direct path, 1 stream up: smxb-cli %s Gbit/s, iperf3 %s %s Gbit/s (medians)',
			  fmt(med('veth', 'bulk1-up', 'direct', 'gbps')), $meta{iperf3} // '',
			  fmt(med('veth', 'iperf3', 'direct', 'gbps')))
		: 'not run'],
	['socket buffers', "tcp_rmem $meta{tcp_rmem}, tcp_wmem $meta{tcp_wmem} (defaults)"],
	['run time', ($meta{elapsed_s} // '?') . ' s'],
	['other users\' load', sprintf('median %.2f, max %.2f CPUs during measurement windows; load average %s at the start, %s at the end',
		$fmed, $fmax, $meta{loadavg_start} // '?', $meta{loadavg_end} // '?')]);
$doc .= "\n";
if (%restarts) {
	$doc .= "Contenders that had to be (re)started during the run: "
	      . join(', ', map { lab($_) . " ($restarts{$_})" } sort keys %restarts) . ".\n\n";
}
$doc .= "## Goals (targets, not test assertions)\n\n$goals";
$doc .= $md;
$doc .= <<'EOF';
## How it was measured

- Topology: three network namespaces (client 198.18.1.1, proxy 198.18.1.2 / 198.18.2.1,
  server 198.18.2.2) joined by two veth pairs; the direct connection crosses the same two links,
  routed by the proxy namespace. The loopback variant puts everything in one namespace on `lo`.
  The harness creates and deletes all of it; nothing leaves those namespaces.
- Every connection starts with a 517-byte browser-like TLS 1.3 ClientHello (SNI
  `bench.example`, ALPN h2/http1.1) so every proxy really parses it and routes it. Each
  proxy routes `bench.example` to the server's port 9000 and everything else to port 9001, and
  the server tells the client which port it answered on: a misrouted connection is an error.
  Before measuring, each contender is checked to route both ways.
- Load generator: `tools/bench/smxb-cli` and `smxb-srv` (epoll, 256 KiB reads and writes);
  throughput is counted by the receiver inside the window (the server reports what it read for
  "up"), after a warm-up; connections end with a reset so nothing queued outlives its window.
- Contenders interleave (A B C … A B C …) within each test of each repetition. A
  measurement during which other users' processes kept the machine busy beyond 0.2 CPUs on
  average is run again (at most twice, within a budget), keeping the quietest.
- Configurations (in this directory next to this file): sockmux `workers = 2`, HAProxy 2.6
  `nbthread 2`, `mode tcp`, `req.ssl_sni`, `option splice-auto`; nginx 2 workers, `stream`
  with `ssl_preread`; sslh-select (Debian 12 has no sslh-ev) with a `tls` probe on the SNI and
  `anyprot` as default; sniproxy with a table. No TLS is terminated anywhere.
- Raw measurements: `raw.txt`; machine and versions: `meta.txt`.
EOF
open my $oh, '>', "$out/results.md" or die "$out/results.md: $!\n";
print $oh $doc;
close $oh;
print $doc;

# ---- charts -------------------------------------------------------------------------------
exit 0 unless $charts;
if (system('command -v gnuplot >/dev/null 2>&1') != 0) {
	warn "report.pl: no gnuplot, no charts\n";
	exit 0;
}
my $dat = "$out/.chart.dat";

# chart(file, title, ylabel, [[row label, phase, test, metric, scale]...], logscale)
sub chart {
	my ($file, $title, $ylabel, $rows, $log) = @_;
	open my $d, '>', $dat or die "$dat: $!\n";
	for my $r (@$rows) {
		my ($rl, $p, $t, $k, $scale) = @$r;
		$scale //= 1;
		print $d "\"$rl\"";
		for my $w (@who) {
			my @s = st($p, $t, $w, $k);
			printf $d ' %g %g %g', @s ? map { $_ * $scale } @s[0 .. 2] : (0, 0, 0);
		}
		print $d "\n";
	}
	close $d;
	my @plots;
	for my $i (0 .. $#who) {
		my $c = 2 + 3 * $i;
		push @plots, sprintf("'%s' using %d:%d:%d%s title '%s'", $dat, $c, $c + 1, $c + 2,
				     $i == 0 ? ':xtic(1)' : '', lab($who[$i]));
	}
	my $gp = <<"EOF";
set terminal pngcairo size 1100,520 font 'sans,10'
set output '$out/$file'
set title '$title'
set ylabel '$ylabel'
set style data histogram
set style histogram errorbars gap 2 lw 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set key outside right top
set grid ytics
set yrange [${\($log ? '1' : '0')}:*]
${\($log ? 'set logscale y' : '')}
plot ${\join(', ', @plots)}
EOF
	open my $g, '|-', 'gnuplot' or die "gnuplot: $!\n";
	print $g $gp;
	close $g;
}

chart('throughput.png', 'Bulk throughput (median, min-max)', 'Gbit/s', [
	['veth 1 up', 'veth', 'bulk1-up', 'gbps'], ['veth 1 down', 'veth', 'bulk1-down', 'gbps'],
	['veth 4 up', 'veth', 'bulk4-up', 'gbps'], ['veth 4 down', 'veth', 'bulk4-down', 'gbps'],
	['loopback 1 up', 'lo', 'bulk1-up', 'gbps']]);
chart('latency.png', '64-byte ping-pong latency, veth', 'µs', [
	['p50', 'veth', 'rr', 'p50_us'], ['p99', 'veth', 'rr', 'p99_us'], ['p99.9', 'veth', 'rr', 'p999_us']], 1);
chart('connections.png', 'New connections per second, veth', 'conn/s', [
	['conn/s', 'veth', 'cps', 'cps']]);
chart('cpu.png', 'CPU per GiB relayed, all tasks (veth)', 'CPU-s/GiB', [
	['saturated, 1 stream up', 'veth', 'bulk1-up', 'cpu_per_gib'],
	["paced at $pace Gbit/s", 'veth', 'paced', 'cpu_per_gib']]);
chart('memory.png', "Memory per idle connection ($idle_n connections, veth)", 'bytes per connection', [
	['user RSS', 'veth', 'idle', 'rss_b_per_conn'], ['kernel slab', 'veth', 'idle', 'slab_b_per_conn']]);
chart('slow-reader.png', 'Fast client to a 10 Mbit/s reader: held on the way, peak (log scale)', 'MiB', [
	['bytes held', 'veth', 'slow', 'held_peak_mib'], ['kernel memory', 'veth', 'slow', 'peak_kernel_mib']], 1);
unlink $dat;
