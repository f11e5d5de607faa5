//! AWS Signature Version 4 for the one kind of request gatehouse makes to AWS: an HTTPS POST
//! with a JSON body and no query (Amazon SES's v2 API). The signature covers the method, the
//! path, the signed headers and the body's SHA-256, under a key derived from the secret for
//! the day, region and service.

use aws_lc_rs::{digest, hmac};

/// The parts of a request that are signed.
pub struct Request<'a> {
    /// `POST`, `GET`, ...
    pub method: &'a str,
    /// The path, already URI-encoded (`/v2/email/outbound-emails`).
    pub path: &'a str,
    /// The canonical query string (empty when none).
    pub query: &'a str,
    /// Headers to sign: lower-case names, trimmed values, sorted by name.
    pub headers: &'a [(&'a str, &'a str)],
    /// The body.
    pub body: &'a [u8],
}

/// Who signs, where and when.
pub struct Signer<'a> {
    /// The access key id.
    pub access_key_id: &'a str,
    /// The secret access key.
    pub secret: &'a str,
    /// `eu-west-1`, ...
    pub region: &'a str,
    /// `ses`, `s3`, ...
    pub service: &'a str,
    /// `YYYYMMDD'T'HHMMSS'Z'`, the value of `x-amz-date`.
    pub amz_date: &'a str,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The hex SHA-256 of `data` (also the `x-amz-content-sha256` of a body).
pub fn sha256_hex(data: &[u8]) -> String {
    hex(digest::digest(&digest::SHA256, data).as_ref())
}

fn mac(key: &[u8], data: &str) -> Vec<u8> {
    hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data.as_bytes())
        .as_ref()
        .to_vec()
}

impl Signer<'_> {
    /// The `Authorization` header value for `request`.
    pub fn authorization(&self, request: &Request<'_>) -> String {
        let day = self.amz_date.get(..8).unwrap_or(self.amz_date);
        let scope = format!("{day}/{}/{}/aws4_request", self.region, self.service);
        let signed: Vec<&str> = request.headers.iter().map(|(n, _)| *n).collect();
        let signed = signed.join(";");
        let headers: String = request
            .headers
            .iter()
            .map(|(n, v)| format!("{n}:{v}\n"))
            .collect();
        let canonical = format!(
            "{}\n{}\n{}\n{headers}\n{signed}\n{}",
            request.method,
            request.path,
            request.query,
            sha256_hex(request.body)
        );
        let to_sign = format!(
            "AWS4-HMAC-SHA256\n{}\n{scope}\n{}",
            self.amz_date,
            sha256_hex(canonical.as_bytes())
        );
        let mut key = mac(format!("AWS4{}", self.secret).as_bytes(), day);
        for part in [self.region, self.service, "aws4_request"] {
            key = mac(&key, part);
        }
        let signature = hex(&mac(&key, &to_sign));
        format!(
            "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed}, Signature={signature}",
            self.access_key_id
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The worked example of Amazon S3's Signature Version 4 documentation ("GET Object"),
    /// with its published signature: an independent check of every step.
    #[test]
    fn signs_the_documented_example_as_aws_does() {
        let empty = sha256_hex(b"");
        assert_eq!(
            empty,
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let headers = [
            ("host", "examplebucket.s3.amazonaws.com"),
            ("range", "bytes=0-9"),
            ("x-amz-content-sha256", empty.as_str()),
            ("x-amz-date", "20130524T000000Z"),
        ];
        let signer = Signer {
            access_key_id: "AKIAIOSFODNN7EXAMPLE",
            secret: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            region: "us-east-1",
            service: "s3",
            amz_date: "20130524T000000Z",
        };
        let request = Request {
            method: "GET",
            path: "/test.txt",
            query: "",
            headers: &headers,
            body: b"",
        };
        assert_eq!(
            signer.authorization(&request),
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, \
             SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, \
             Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        );
    }
}
