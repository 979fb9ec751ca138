package deploy

import (
	"path"
	"slices"
	"sort"
	"strings"
)

// DynamoDBCall is one DynamoDB request a function makes, as IAM authorises it: the action
// (dynamodb:GetItem …), the table's logical id and the index ("" for the table itself).
type DynamoDBCall struct {
	Action, Table, Index string
}

func (c DynamoDBCall) String() string {
	if c.Index == "" {
		return c.Action + " on " + c.Table
	}
	return c.Action + " on " + c.Table + "/index/" + c.Index
}

// dynamoDBPolicyTemplates are the actions of the SAM policy templates the template uses
// for tables (samtranslator's policy_templates.json); each covers the table and all its
// indexes.
var dynamoDBPolicyTemplates = map[string][]string{
	"DynamoDBCrudPolicy": {"dynamodb:GetItem", "dynamodb:DeleteItem", "dynamodb:PutItem", "dynamodb:Scan", "dynamodb:Query",
		"dynamodb:UpdateItem", "dynamodb:BatchWriteItem", "dynamodb:BatchGetItem", "dynamodb:DescribeTable", "dynamodb:ConditionCheckItem"},
	"DynamoDBReadPolicy":  {"dynamodb:GetItem", "dynamodb:Scan", "dynamodb:Query", "dynamodb:BatchGetItem", "dynamodb:DescribeTable"},
	"DynamoDBWritePolicy": {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:BatchWriteItem"},
}

// grant is one allowed action on a table resource; index is "" for the table, "*" for
// every index.
type grant struct {
	action, table, index string
}

// dynamoDBGrants returns what the function's Policies allow on the template's tables:
// inline statements whose resources are !GetAtt <Table>.Arn or !Sub ${<Table>.Arn}/index/<name>,
// and the DynamoDB policy templates.
func (t *Template) dynamoDBGrants(fn string) []grant {
	var out []grant
	for _, pol := range asSlice(t.Resources[fn].Properties["Policies"]) {
		pm := asMap(pol)
		for name, actions := range dynamoDBPolicyTemplates {
			args, ok := pm[name]
			if !ok {
				continue
			}
			table, _ := ref(asMap(args)["TableName"])
			for _, a := range actions {
				out = append(out, grant{a, table, ""}, grant{a, table, "*"})
			}
		}
		for _, st := range asSlice(pm["Statement"]) {
			sm := asMap(st)
			if e := str(sm["Effect"]); e != "" && e != "Allow" {
				continue
			}
			var resources []any
			if rs, ok := sm["Resource"].([]any); ok {
				resources = rs
			} else {
				resources = []any{sm["Resource"]}
			}
			for _, r := range resources {
				table, index, ok := tableResource(r)
				if !ok {
					continue
				}
				for _, a := range stringsOf(sm["Action"]) {
					if strings.HasPrefix(a, "dynamodb:") {
						out = append(out, grant{a, table, index})
					}
				}
			}
		}
	}
	return out
}

// tableResource reads a table or index resource of a policy statement.
func tableResource(r any) (table, index string, ok bool) {
	if id, attr := ref(r); id != "" {
		return id, "", attr == "Arn"
	}
	sub, _ := asMap(r)["Fn::Sub"].(string)
	rest, found := strings.CutPrefix(sub, "${")
	if !found {
		return "", "", false
	}
	id, tail, found := strings.Cut(rest, ".Arn}")
	if !found {
		return "", "", false
	}
	if tail == "" {
		return id, "", true
	}
	if ix, found := strings.CutPrefix(tail, "/index/"); found && ix != "" {
		return id, ix, true
	}
	return "", "", false
}

func (g grant) covers(c DynamoDBCall) bool {
	if ok, _ := path.Match(g.action, c.Action); !ok || g.table != c.Table {
		return false
	}
	if c.Index == "" {
		return g.index == ""
	}
	return g.index == "*" || g.index == c.Index
}

// CheckDynamoDBAccess compares the DynamoDB requests a function made (recorded while its
// code ran) with what its policies allow: every call must be allowed, else it fails with
// AccessDenied in AWS. With exact, every action the policies grant on a table or index
// must also have been used, so that the function holds no permission it does not need.
func CheckDynamoDBAccess(t *Template, fn string, calls []DynamoDBCall, exact bool) []string {
	grants := t.dynamoDBGrants(fn)
	var problems []string
	seen := map[DynamoDBCall]bool{}
	for _, c := range calls {
		if seen[c] {
			continue
		}
		seen[c] = true
		allowed := false
		for _, g := range grants {
			if g.covers(c) {
				allowed = true
				break
			}
		}
		if !allowed {
			problems = append(problems, fn+": the code calls "+c.String()+", which its policies do not allow")
		}
	}
	if exact {
		unused := map[string]bool{}
		for _, g := range grants {
			used := false
			for c := range seen {
				if g.covers(c) {
					used = true
					break
				}
			}
			if !used {
				res := g.table
				if g.index != "" {
					res += "/index/" + g.index
				}
				unused[fn+": policies allow "+g.action+" on "+res+", which the code never calls"] = true
			}
		}
		for p := range unused {
			problems = append(problems, p)
		}
	}
	sort.Strings(problems)
	return problems
}

// KMSCall is one KMS request a function makes, as IAM authorises it: the action
// (kms:Decrypt …) and the encryption context it passes.
type KMSCall struct {
	Action  string
	Context map[string]string
}

func (c KMSCall) String() string {
	keys := make([]string, 0, len(c.Context))
	for k := range c.Context {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return c.Action + " with encryption context {" + strings.Join(keys, ",") + "}"
}

// kmsPolicyTemplates are the SAM policy templates for a KMS key; they carry no condition.
var kmsPolicyTemplates = map[string][]string{
	"KMSEncryptPolicy": {"kms:Encrypt"},
	"KMSDecryptPolicy": {"kms:Decrypt"},
}

// kmsGrant is one allowed KMS action with the statement's conditions.
type kmsGrant struct {
	action, where string
	resourceAll   bool
	cond          map[string]any
}

// kmsGrants returns what fn's Policies allow in KMS.
func (t *Template) kmsGrants(fn string) []kmsGrant {
	var out []kmsGrant
	for _, pol := range asSlice(t.Resources[fn].Properties["Policies"]) {
		pm := asMap(pol)
		for name, actions := range kmsPolicyTemplates {
			if _, ok := pm[name]; ok {
				for _, a := range actions {
					out = append(out, kmsGrant{action: a, where: name})
				}
			}
		}
		for _, st := range asSlice(pm["Statement"]) {
			sm := asMap(st)
			if e := str(sm["Effect"]); e != "" && e != "Allow" {
				continue
			}
			all := slices.Contains(stringsOf(sm["Resource"]), "*")
			for _, a := range stringsOf(sm["Action"]) {
				if strings.HasPrefix(a, "kms:") {
					out = append(out, kmsGrant{action: a, where: "statement " + str(sm["Sid"]), resourceAll: all, cond: asMap(sm["Condition"])})
				}
			}
		}
	}
	return out
}

// holds evaluates the grant's conditions for a call, for the operators and keys the
// template uses on KMS (Null, StringEquals, StringLike and ForAllValues:/ForAnyValue:
// StringEquals over kms:EncryptionContext:<key> and kms:EncryptionContextKeys). An
// operator or key it does not know is reported and never holds.
func (g kmsGrant) holds(c KMSCall) (bool, string) {
	values := func(k string) ([]string, bool) {
		if k == "kms:EncryptionContextKeys" {
			keys := make([]string, 0, len(c.Context))
			for key := range c.Context {
				keys = append(keys, key)
			}
			return keys, len(keys) > 0
		}
		if key, ok := strings.CutPrefix(k, "kms:EncryptionContext:"); ok {
			v, present := c.Context[key]
			return []string{v}, present
		}
		return nil, false
	}
	for op, body := range g.cond {
		for k, want := range asMap(body) {
			if k != "kms:EncryptionContextKeys" && !strings.HasPrefix(k, "kms:EncryptionContext:") {
				return false, "condition key " + k + " is not checked here"
			}
			got, present := values(k)
			wants := stringsOf(want)
			match := func(v string) bool {
				for _, w := range wants {
					if ok, _ := path.Match(w, v); (op == "StringLike" || strings.HasSuffix(op, "StringLike")) && ok || w == v {
						return true
					}
				}
				return false
			}
			switch op {
			case "Null":
				if (str(want) == "false") != present {
					return false, ""
				}
			case "StringEquals", "StringLike":
				if !present || !match(got[0]) {
					return false, ""
				}
			case "ForAllValues:StringEquals", "ForAllValues:StringLike":
				for _, v := range got {
					if !match(v) {
						return false, ""
					}
				}
			case "ForAnyValue:StringEquals", "ForAnyValue:StringLike":
				if !slices.ContainsFunc(got, match) {
					return false, ""
				}
			default:
				return false, "condition operator " + op + " is not checked here"
			}
		}
	}
	return true, ""
}

// CheckKMSAccess compares the KMS requests a function made with what its policies allow:
// every call must be allowed with the encryption context it passed, every granted action
// must be used, no grant may name every key ("*"), and, with contextKey, every grant must
// require that key of the encryption context (kms:EncryptionContext:<contextKey>), so the
// function can open only blobs sealed for some tenant, each under its own context.
func CheckKMSAccess(t *Template, fn string, calls []KMSCall, contextKey string) []string {
	grants := t.kmsGrants(fn)
	var problems []string
	used := map[int]bool{}
	seen := map[string]bool{}
	for _, c := range calls {
		if seen[c.String()] {
			continue
		}
		seen[c.String()] = true
		allowed := false
		for i, g := range grants {
			if ok, _ := path.Match(g.action, c.Action); !ok {
				continue
			}
			ok, why := g.holds(c)
			if why != "" {
				problems = append(problems, fn+": "+g.where+": "+why)
			}
			if ok {
				allowed, used[i] = true, true
			}
		}
		if !allowed {
			problems = append(problems, fn+": the code calls "+c.String()+", which its policies do not allow")
		}
	}
	for i, g := range grants {
		if !used[i] {
			problems = append(problems, fn+": "+g.where+" allows "+g.action+", which the code never calls")
		}
		if g.resourceAll {
			problems = append(problems, fn+": "+g.where+" allows "+g.action+" on every key (*)")
		}
		if contextKey != "" {
			conditioned := false
			for _, body := range g.cond {
				_, ok := asMap(body)["kms:EncryptionContext:"+contextKey]
				conditioned = conditioned || ok
			}
			if !conditioned {
				problems = append(problems, fn+": "+g.where+" allows "+g.action+" without requiring kms:EncryptionContext:"+contextKey)
			}
		}
	}
	sort.Strings(problems)
	return slices.Compact(problems)
}
