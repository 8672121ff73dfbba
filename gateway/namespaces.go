package gateway

import (
	"net/http"

	"github.com/ferryfaas/ferry/api"
)

// listNamespaces is GET /system/namespaces: a JSON array of names.
func (g *Gateway) listNamespaces(w http.ResponseWriter, r *http.Request) error {
	list, err := g.cfg.Provider.ListNamespaces(r.Context())
	if err != nil {
		return err
	}
	if list == nil {
		list = []string{}
	}
	return writeJSON(w, http.StatusOK, list)
}

// getNamespace is GET /system/namespace/{ns}.
func (g *Gateway) getNamespace(w http.ResponseWriter, r *http.Request) error {
	name, err := pathNamespace(r)
	if err != nil {
		return err
	}
	ns, err := g.cfg.Provider.GetNamespace(r.Context(), name)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, ns)
}

// createNamespace is POST /system/namespace/{ns}: 201, 409 when it exists.
// The body ({name,labels,annotations}) is optional.
func (g *Gateway) createNamespace(w http.ResponseWriter, r *http.Request) error {
	ns, err := g.readNamespace(w, r)
	if err != nil {
		return err
	}
	if err := g.cfg.Provider.CreateNamespace(r.Context(), ns); err != nil {
		return err
	}
	w.WriteHeader(http.StatusCreated)
	return nil
}

// updateNamespace is PUT /system/namespace/{ns}: 202, 404 when absent.
func (g *Gateway) updateNamespace(w http.ResponseWriter, r *http.Request) error {
	ns, err := g.readNamespace(w, r)
	if err != nil {
		return err
	}
	if err := g.cfg.Provider.UpdateNamespace(r.Context(), ns); err != nil {
		return err
	}
	return accepted(w)
}

// deleteNamespace is DELETE /system/namespace/{ns} (or /system/namespace/
// with {"name"}): 202.
func (g *Gateway) deleteNamespace(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("ns")
	if name == "" {
		ns, err := g.readNamespace(w, r)
		if err != nil {
			return err
		}
		name = ns.Name
	} else if err := api.ValidateName("namespace", name); err != nil {
		return err
	}
	if err := g.cfg.Provider.DeleteNamespace(r.Context(), name); err != nil {
		return err
	}
	return accepted(w)
}

func pathNamespace(r *http.Request) (string, error) {
	name := r.PathValue("ns")
	return name, api.ValidateName("namespace", name)
}

// readNamespace reads a Namespace body. With a name in the path the body
// is optional and its name, when given, must match; on /system/namespace/
// (the go-sdk's CreateNamespace) the name comes from the body.
func (g *Gateway) readNamespace(w http.ResponseWriter, r *http.Request) (api.Namespace, error) {
	var ns api.Namespace
	name := r.PathValue("ns")
	if name != "" {
		if err := api.ValidateName("namespace", name); err != nil {
			return ns, err
		}
	}
	b, err := g.readBody(w, r)
	if err != nil {
		return ns, err
	}
	if len(b) > 0 {
		if err := decodeBytes(b, &ns, `a Namespace {"name","labels","annotations"}`); err != nil {
			return ns, err
		}
	}
	if err := ns.Validate(); err != nil {
		return ns, err
	}
	switch {
	case name == "":
		if err := api.ValidateName("namespace", ns.Name); err != nil {
			return ns, fieldError("name", err)
		}
		return ns, nil
	case ns.Name != "" && ns.Name != name:
		return ns, api.BadRequest("field \"name\": %q does not match the namespace %q in the path", short(ns.Name), name)
	}
	ns.Name = name
	return ns, nil
}
