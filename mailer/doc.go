// Package mailer delivers the one-time codes of the self-hosted engine by
// SMTP, as a multipart/alternative message (plain text and HTML) written
// in the language of the request. It lives apart from the root package so
// that only hosts that send mail compile its SMTP client
// (github.com/wneessen/go-mail).
//
//	sender, err := mailer.New(mailer.Config{
//		URL:  "smtp://user:password@smtp.example.com:587", // STARTTLS required
//		From: "Example <no-reply@example.com>",
//	})
//	engine, err := selfhosted.New(selfhosted.Config{..., OTPSender: sender})
//
// # Connection
//
// smtp:// URLs must upgrade with STARTTLS (a server that does not offer it
// is an error), smtps:// URLs speak TLS from the first byte. Plain SMTP is
// possible only to localhost and only with
// [Config.InsecurePlaintextLocalhost]. Every message uses a new
// connection; [Config.DialTimeout] bounds connecting, [Config.CommandTimeout]
// every wait for the server, and the request's context the whole send.
//
// # Templates and translations
//
// The subject, the text body and the HTML body are templates
// (text/template, text/template, html/template) executed with a [Data]: the
// [passkeys.OTPMessage], the chosen language and its [Translation], the
// validity in minutes and the client's browser and system. The defaults,
// [DefaultSubject], [DefaultText] and [DefaultHTML], are the files in
// this package's templates folder; replace any of them in [Config]. The
// language is the best match of the request's Accept-Language among
// [Config.Translations] (English and German built in), English when none
// matches.
//
// The security notices of [Sender.Notify] work alike: [Config.NoticeText]
// and [Config.NoticeHTML] (defaults [DefaultNoticeText],
// [DefaultNoticeHTML]) are executed with a [NoticeData], in the language
// that best matches among [Config.NoticeTranslations]. [New] renders
// every template in every language once, so one that cannot render is an
// error there.
//
// # Errors
//
// A failed send is a [*passkeys.Error]: 503 unavailable when a retry may
// help, 502 upstream_error otherwise (see [Sender.SendOTPMessage]). The
// engine then drops the code, so the next request sends a new one at once.
// No error contains the password or the code.
package mailer
