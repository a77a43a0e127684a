#!/usr/bin/perl
# ar_parse.pl: reads an Authentication-Results field value on stdin, parses
# it with Mail::AuthenticationResults (Debian libmail-authenticationresults-perl)
# and prints "authserv-id ID", then per result "METHOD RESULT" and its
# properties "  KEY=VALUE" (comments skipped). Exit 1 when it does not parse.
use strict;
use warnings;
use Mail::AuthenticationResults::Parser;

local $/;
my $value = <STDIN>;
$value =~ s/\r?\n([ \t])/$1/g;    # unfold
my $h = eval { Mail::AuthenticationResults::Parser->new()->parse($value) };
if (!$h) { print STDERR "parse error: $@"; exit 1; }
print "authserv-id ", $h->value()->value(), "\n";
for my $e (@{ $h->children() }) {
	next if $e->isa('Mail::AuthenticationResults::Header::Comment');
	print $e->key(), " ", $e->value(), "\n";
	for my $c (@{ $e->children() }) {
		next if $c->isa('Mail::AuthenticationResults::Header::Comment');
		print "  ", $c->key(), "=", $c->value(), "\n";
	}
}
