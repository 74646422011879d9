package client

import "github.com/gatehouse-dev/gatehouse/api"

// The wire types are package api's; these aliases keep the SDK's names.
type (
	AuditEntry             = api.AuditEntry
	AuditActor             = api.AuditActor
	Checkpoint             = api.Checkpoint
	AuditReport            = api.AuditReport
	AuditProblem           = api.AuditProblem
	AuditVerification      = api.AuditVerifyResult
	VersionHistory         = api.VersionHistory
	AuditSettings          = api.AuditSettings
	Diagnostic             = api.Diagnostic
	Pos                    = api.Pos
	Secret                 = api.Secret
	SecretVersion          = api.SecretVersion
	SecretSpec             = api.SecretCreate
	SecretPatch            = api.SecretPatch
	SecretValue            = api.SecretValue
	RunRequest             = api.RunRequest
	RunGrant               = api.RunGrant
	Release                = api.Release
	Released               = api.Released
	List[T any]            = api.List[T]
	Consistency            = api.Consistency
	Org                    = api.Org
	CreateOrgRequest       = api.CreateOrgRequest
	Namespace              = api.Namespace
	User                   = api.User
	Member                 = api.Member
	Team                   = api.Team
	CreateTeamRequest      = api.TeamRequest
	Role                   = api.Role
	RoleSpec               = api.RoleSpec
	Policy                 = api.Policy
	Validation             = api.ValidateResponse
	Binding                = api.Binding
	BindingSpec            = api.BindingSpec
	Lifetime               = api.Lifetime
	ShareRequest           = api.ShareRequest
	Agent                  = api.Agent
	AgentSpec              = api.AgentSpec
	AgentPatch             = api.AgentPatch
	Service                = api.Service
	ServiceSpec            = api.ServiceSpec
	Resource               = api.Resource
	ResourceSpec           = api.ResourceSpec
	ResourcePatch          = api.ResourcePatch
	ResourceVersion        = api.ResourceVersion
	DiffEntry              = api.DiffEntry
	ResourceRef            = api.ResourceRef
	Scope                  = api.Scope
	Subject                = api.Subject
	APIKey                 = api.APIKey
	KeySpec                = api.KeySpec
	KeyCreated             = api.KeyCreated
	Invitation             = api.Invitation
	InvitationCreated      = api.InvitationCreated
	AcceptRequest          = api.AcceptRequest
	Session                = api.SessionResponse
	Accepted               = api.AcceptResponse
	Health                 = api.Health
	Me                     = api.Me
	MeOrg                  = api.MeOrg
	CheckRequest           = api.BatchItem
	Decision               = api.CheckResponse
	Rule                   = api.RuleOut
	Explanation            = api.ExplainResponse
	Trace                  = api.TraceOut
	LookupResourcesRequest = api.LookupResourcesQuery
	ResourcePage           = api.LookupResourcesResponse
	LookupSubjectsRequest  = api.LookupSubjectsQuery
	Subjects               = api.LookupSubjectsResponse
	Permissions            = api.PermissionsResponse
	Grant                  = api.GrantOut
)
