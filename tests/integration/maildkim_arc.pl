#!/usr/bin/perl
# maildkim_arc.pl: Mail::DKIM's ARC modules (libmail-dkim-perl) for
# test_arc_interop.py, with key lookups answered from a signet ZONEFILE (its
# "NAME TXT VALUE" lines) instead of DNS.
# usage: maildkim_arc.pl verify ZONEFILE MESSAGE
#            prints the chain result (pass, fail, none) and the detail
#        maildkim_arc.pl seal KEYFILE DOMAIN SELECTOR SRVID TIME MESSAGE
#            prints the message with one ARC set on top; cv= comes from the
#            arc= of the message's Authentication-Results for SRVID (Chain
#            'ar'), which Mail::DKIM requires to be there
use strict;
use warnings;

use Mail::DKIM::ARC::Signer;
use Mail::DKIM::ARC::Verifier;
use Mail::DKIM::DNS;

sub slurp {
	my ($file) = @_;
	open my $fh, '<', $file or die "$file: $!\n";
	binmode $fh;
	my $m = do { local $/; <$fh> };
	close $fh;
	# Mail::DKIM reads network form: an LF-only message gets CRLF.
	$m =~ s/(?<!\r)\n/\r\n/g;
	return $m;
}

package FakeTXT {
	sub new { my ($c, $v) = @_; return bless { v => $v }, $c; }
	sub type { 'TXT' }
	sub char_str_list { $_[0]{v} }
	sub txtdata { $_[0]{v} }
}

my $cmd = shift @ARGV // '';
if ($cmd eq 'verify' && @ARGV == 2) {
	my ($zone, $msgfile) = @ARGV;
	my %txt;
	open my $zf, '<', $zone or die "$zone: $!\n";
	while (my $line = <$zf>) {
		next unless $line =~ /^(\S+)\s+TXT\s+(.*?)\s*$/;
		$txt{lc $1} = $2;
	}
	close $zf;
	{
		no warnings 'redefine';
		*Mail::DKIM::DNS::query = sub {
			my ($name, $type) = @_;
			$name = lc $name;
			$name =~ s/\.\z//;
			return () unless exists $txt{$name};
			return (FakeTXT->new($txt{$name}));
		};
	}
	my $v = Mail::DKIM::ARC::Verifier->new();
	$v->PRINT(slurp($msgfile));
	$v->CLOSE;
	print $v->result, "\n";
	print STDERR ($v->result_detail // ''), "\n";
	exit 0;
}
if ($cmd eq 'seal' && @ARGV == 6) {
	my ($keyfile, $domain, $selector, $srvid, $time, $msgfile) = @ARGV;
	my $msg = slurp($msgfile);
	my $s = Mail::DKIM::ARC::Signer->new(
		Algorithm => 'rsa-sha256', Method => 'relaxed', Domain => $domain,
		Selector => $selector, SrvId => $srvid, KeyFile => $keyfile,
		Chain => 'ar', Timestamp => $time,
	);
	$s->PRINT($msg);
	$s->CLOSE;
	die "Mail::DKIM did not seal: " . ($s->{details} // $s->result) . "\n"
		unless $s->as_string;
	binmode STDOUT;
	print $s->as_string, $msg;
	exit 0;
}
die "usage: $0 verify ZONEFILE MESSAGE | seal KEYFILE DOMAIN SELECTOR SRVID TIME MESSAGE\n";
