package nebius

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/gpusupply/supply/internal/vendors"
	pb "github.com/gpusupply/supply/internal/vendors/nebius/internal/nebiuspb"
)

// The RFC 8693 token exchange Nebius's TokenExchangeService speaks.
const (
	grantTypeExchange    = "urn:ietf:params:oauth:grant-type:token-exchange"
	tokenTypeAccess      = "urn:ietf:params:oauth:token-type:access_token"
	tokenTypeJWT         = "urn:ietf:params:oauth:token-type:jwt"
	exchangeMethod       = "/nebius.iam.v1.TokenExchangeService/Exchange"
	subjectTokenLifetime = 10 * time.Minute
)

// tokenSource turns the service account's key into IAM access tokens:
// it signs a short JWT (RS256, kid = public key id, iss = sub = service
// account id), exchanges it, and keeps the access token until shortly
// before it expires.
type tokenSource struct {
	serviceAccountID, publicKeyID, privateKeyPEM string
	exchange                                     pb.TokenExchangeServiceClient
	now                                          func() time.Time

	mu        sync.Mutex
	token     string
	refreshAt time.Time
}

// get returns a valid access token, exchanging a new JWT when the cached
// one is missing or close to expiry. The lock is held across the
// exchange so concurrent callers share one.
func (s *tokenSource) get(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if s.token != "" && now.Before(s.refreshAt) {
		return s.token, nil
	}
	jwt, err := signJWT(s.serviceAccountID, s.publicKeyID, s.privateKeyPEM, now)
	if err != nil {
		return "", &vendors.Error{Vendor: vendorName, Op: "sign service account JWT", Kind: vendors.ErrAuth, Message: err.Error()}
	}
	resp, err := s.exchange.Exchange(ctx, &pb.ExchangeTokenRequest{
		GrantType:          grantTypeExchange,
		RequestedTokenType: tokenTypeAccess,
		SubjectToken:       jwt,
		SubjectTokenType:   tokenTypeJWT,
	})
	if err != nil {
		return "", err
	}
	if resp.GetAccessToken() == "" {
		return "", &vendors.Error{Vendor: vendorName, Op: "exchange token", Kind: vendors.ErrAuth, Message: "no access token in the answer"}
	}
	ttl := time.Duration(resp.GetExpiresIn()) * time.Second
	s.token = resp.GetAccessToken()
	// Refresh a tenth of the lifetime early (at most five minutes), so a
	// token never expires between being read and being checked.
	s.refreshAt = now.Add(ttl - min(ttl/10, 5*time.Minute))
	return s.token, nil
}

// reset drops the cached token after the vendor refused it.
func (s *tokenSource) reset() {
	s.mu.Lock()
	s.token = ""
	s.mu.Unlock()
}

// jwtHeader and jwtClaims are the parts of the service account's JWT.
type jwtHeader struct {
	Alg string `json:"alg"`
	Typ string `json:"typ"`
	Kid string `json:"kid"`
}

type jwtClaims struct {
	Iss string `json:"iss"`
	Sub string `json:"sub"`
	Iat int64  `json:"iat"`
	Exp int64  `json:"exp"`
}

// signJWT makes the self-signed subject token of the exchange.
func signJWT(serviceAccountID, keyID, privateKeyPEM string, now time.Time) (string, error) {
	if serviceAccountID == "" || keyID == "" {
		return "", errors.New("service account id and public key id are required")
	}
	key, err := parsePrivateKey(privateKeyPEM)
	if err != nil {
		return "", err
	}
	header, _ := json.Marshal(jwtHeader{Alg: "RS256", Typ: "JWT", Kid: keyID})
	claims, _ := json.Marshal(jwtClaims{Iss: serviceAccountID, Sub: serviceAccountID,
		Iat: now.Unix(), Exp: now.Add(subjectTokenLifetime).Unix()})
	signing := b64(header) + "." + b64(claims)
	sum := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		return "", fmt.Errorf("sign JWT: %w", err)
	}
	return signing + "." + b64(sig), nil
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// parsePrivateKey reads an RSA key in PKCS#8 or PKCS#1 PEM, the forms
// Nebius's console and CLI hand out.
func parsePrivateKey(p string) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode([]byte(p))
	if block == nil {
		return nil, errors.New("private key is not PEM")
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse private key: %w", err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, errors.New("private key is not RSA")
	}
	return rk, nil
}
