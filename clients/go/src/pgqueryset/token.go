package pgqueryset

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"time"
)

// MintToken returns an HS256 JWT for SetTenantToken: header
// {"alg":"HS256","typ":"JWT"}, payload {"tenant_id": tenant, "aud":
// audience, "exp": now+ttl} (seconds), base64url without padding, signed
// with HMAC-SHA-256 of secret.
func MintToken(secret, tenant, audience string, ttl time.Duration) string {
	return mintAt(secret, tenant, audience, time.Now().Add(ttl).Unix())
}

func mintAt(secret, tenant, audience string, exp int64) string {
	enc := base64.RawURLEncoding
	header := enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
	payload, _ := json.Marshal(struct {
		TenantID string `json:"tenant_id"`
		Aud      string `json:"aud"`
		Exp      int64  `json:"exp"`
	}{tenant, audience, exp})
	signingInput := header + "." + enc.EncodeToString(payload)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(signingInput))
	return signingInput + "." + enc.EncodeToString(mac.Sum(nil))
}
