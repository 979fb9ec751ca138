package httpapi

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode"
)

// maxCredentialsFile bounds the credentials file; Personio's is a few hundred bytes.
const maxCredentialsFile = 16 << 10

// ParseCredentialsFile reads the client id and secret from the credentials file Personio
// offers for download when an API credential is created (DESIGN §1.2 step 1). Its format
// is not documented and has changed over time, so every shape seen in the wild is read:
// a JSON object (flat or nested one level, keys such as client_id, clientId, "Client ID"),
// "key: value" or "key=value" lines, and a CSV header with one row. Keys are compared
// without case, spaces, dashes or underscores; German labels (Kunden-ID) are understood.
func ParseCredentialsFile(content string) (clientID, clientSecret string, err error) {
	if len(content) > maxCredentialsFile {
		return "", "", errors.New("the credentials file is larger than 16 KB: is it the file Personio offered for download?")
	}
	content = strings.TrimPrefix(strings.TrimSpace(content), "\ufeff")
	if content == "" {
		return "", "", errors.New("the credentials file is empty")
	}
	fields := map[string]string{}
	if strings.HasPrefix(content, "{") {
		if !jsonDepthOK([]byte(content), MaxJSONDepth) {
			return "", "", fmt.Errorf("the credentials file nests more than %d levels deep; upload the file Personio offers", MaxJSONDepth)
		}
		var obj map[string]any
		if err := json.Unmarshal([]byte(content), &obj); err != nil {
			return "", "", fmt.Errorf("the credentials file looks like JSON but is not valid: %v", err)
		}
		flatten(obj, fields, 0)
	} else {
		lines := strings.FieldsFunc(content, func(r rune) bool { return r == '\n' || r == '\r' })
		if len(lines) >= 2 && !strings.ContainsAny(lines[0], ":=") && strings.Contains(lines[0], ",") {
			rec, err := csv.NewReader(strings.NewReader(content)).ReadAll()
			if err != nil || len(rec) < 2 {
				return "", "", errors.New("the credentials file looks like CSV but has no header and value row")
			}
			for i, k := range rec[0] {
				if i < len(rec[1]) {
					fields[normKey(k)] = rec[1][i]
				}
			}
		} else {
			for _, l := range lines {
				k, v, ok := cutAny(l, ":=")
				if !ok {
					continue
				}
				fields[normKey(k)] = v
			}
		}
	}
	clientID = pick(fields, "clientid", "personioclientid", "id", "kundenid", "clientidentifier")
	clientSecret = pick(fields, "clientsecret", "personioclientsecret", "secret", "kundensecret", "kundengeheimnis")
	switch {
	case clientID == "" && clientSecret == "":
		return "", "", errors.New("the credentials file names neither a client id nor a client secret")
	case clientID == "":
		return "", "", errors.New("the credentials file has a client secret but no client id")
	case clientSecret == "":
		return "", "", errors.New("the credentials file has a client id but no client secret")
	}
	return clientID, clientSecret, nil
}

func flatten(obj map[string]any, into map[string]string, depth int) {
	for k, v := range obj {
		switch v := v.(type) {
		case string:
			if _, seen := into[normKey(k)]; !seen || depth == 0 {
				into[normKey(k)] = v
			}
		case map[string]any:
			if depth == 0 {
				flatten(v, into, depth+1)
			}
		}
	}
}

// cutAny cuts l at the first of the separators.
func cutAny(l, seps string) (string, string, bool) {
	i := strings.IndexAny(l, seps)
	if i < 0 {
		return "", "", false
	}
	return l[:i], l[i+1:], true
}

func normKey(k string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(k) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// pick returns the first non-empty value among keys, trimmed of spaces and quotes. A
// value with a control character is refused (returned empty): a secret never has one.
func pick(fields map[string]string, keys ...string) string {
	for _, k := range keys {
		v := strings.TrimSpace(fields[k])
		v = strings.TrimSpace(strings.Trim(v, `"'`))
		if v == "" || strings.ContainsFunc(v, unicode.IsControl) {
			continue
		}
		return v
	}
	return ""
}
