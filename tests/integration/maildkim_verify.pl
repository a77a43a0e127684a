#!/usr/bin/perl
# maildkim_verify.pl: verifies a message with Mail::DKIM (libmail-dkim-perl),
# answering key lookups from a signet keys file instead of DNS.
# usage: maildkim_verify.pl KEYSFILE MESSAGE     prints one word per DKIM-Signature
#                                                (pass, fail, permerror, temperror,
#                                                header order) joined by ',', or 'none';
#                                                details on stderr
#        maildkim_verify.pl --has-ed25519        exit 0 if this Mail::DKIM verifies ed25519
use strict;
use warnings;

if (@ARGV == 1 && $ARGV[0] eq '--has-ed25519') {
	# Mail::DKIM gained ed25519-sha256 (with CryptX) after Debian 12's 1.20230212.
	my $ok = eval { require Mail::DKIM::Algorithm::ed25519_sha256; 1 };
	exit($ok ? 0 : 1);
}
die "usage: $0 KEYSFILE MESSAGE\n" unless @ARGV == 2;
my ($keysfile, $msgfile) = @ARGV;

use Mail::DKIM::Verifier;
use Mail::DKIM::DNS;

# Keys file: "<name> <TXT value>" per line, '#' comments, '#!temperror <name>'.
my (%txt, %tempfail);
open my $kf, '<', $keysfile or die "$keysfile: $!\n";
while (my $line = <$kf>) {
	$line =~ s/\r?\n\z//;
	if ($line =~ /^#!temperror\s+(\S+)/) { $tempfail{lc $1} = 1; next; }
	next if $line =~ /^\s*(#|\z)/;
	my ($name, $value) = split /\s+/, $line, 2;
	$txt{lc $name} = defined $value ? $value : '';
}
close $kf;

# A TXT answer object with the methods Mail::DKIM calls.
package FakeTXT {
	sub new { my ($c, $v) = @_; return bless { v => $v }, $c; }
	sub type { 'TXT' }
	sub char_str_list { $_[0]{v} }
	sub txtdata { $_[0]{v} }
}

{
	no warnings 'redefine';
	*Mail::DKIM::DNS::query = sub {
		my ($name, $type) = @_;
		$name = lc $name;
		$name =~ s/\.\z//;
		die "DNS query timeout for $name\n" if $tempfail{$name};
		return () unless exists $txt{$name};
		return (FakeTXT->new($txt{$name}));
	};
}

open my $fh, '<', $msgfile or die "$msgfile: $!\n";
binmode $fh;
my $msg = do { local $/; <$fh> };
close $fh;
# Mail::DKIM reads network form; an LF-only message is given CRLF (what an MTA sends).
$msg =~ s/(?<!\r)\n/\r\n/g;

my $v = Mail::DKIM::Verifier->new();
$v->PRINT($msg);
$v->CLOSE;

my @words;
for my $sig ($v->signatures) {
	next if $sig->isa('Mail::DKIM::DkSignature');
	my $r = $sig->result || 'none';
	my $detail = $sig->result_detail || '';
	if ($r eq 'invalid') {
		$r = $detail =~ /timeout|timed out|SERVFAIL/i ? 'temperror' : 'permerror';
	}
	print STDERR "$r: $detail\n";
	push @words, $r;
}
print @words ? join(',', @words) : 'none', "\n";
