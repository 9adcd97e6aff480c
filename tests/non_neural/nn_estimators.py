"""The estimator zoo of the non-neural tests (small ensembles keep the suite quick)."""
from __future__ import annotations

from sklearn import cluster, ensemble, linear_model, multiclass, naive_bayes, neighbors, pipeline, preprocessing, svm, tree

CLASSIFIERS = {
    "DecisionTreeClassifier": lambda: tree.DecisionTreeClassifier(max_depth=8, random_state=0),
    "RandomForestClassifier": lambda: ensemble.RandomForestClassifier(8, max_depth=6, random_state=0),
    "ExtraTreesClassifier": lambda: ensemble.ExtraTreesClassifier(8, max_depth=6, random_state=0),
    "GradientBoostingClassifier": lambda: ensemble.GradientBoostingClassifier(n_estimators=8, max_depth=3, random_state=0),
    "HistGradientBoostingClassifier": lambda: ensemble.HistGradientBoostingClassifier(max_iter=8, random_state=0),
    "GaussianNB": naive_bayes.GaussianNB,
    "LogisticRegression": lambda: pipeline.make_pipeline(preprocessing.StandardScaler(),
                                                         linear_model.LogisticRegression(max_iter=2000)),
    "LogisticRegression-ovr": lambda: pipeline.make_pipeline(
        preprocessing.MinMaxScaler(), multiclass.OneVsRestClassifier(linear_model.LogisticRegression(max_iter=2000))),
    "LinearSVC": lambda: pipeline.make_pipeline(preprocessing.StandardScaler(), svm.LinearSVC(max_iter=5000)),
    "SVC-rbf": lambda: pipeline.make_pipeline(preprocessing.StandardScaler(), svm.SVC()),
    "SVC-linear": lambda: pipeline.make_pipeline(preprocessing.StandardScaler(), svm.SVC(kernel="linear")),
    "SVC-poly": lambda: pipeline.make_pipeline(preprocessing.StandardScaler(), svm.SVC(kernel="poly", degree=3)),
    "SVC-sigmoid": lambda: pipeline.make_pipeline(preprocessing.StandardScaler(), svm.SVC(kernel="sigmoid")),
    "NuSVC-rbf": lambda: pipeline.make_pipeline(preprocessing.StandardScaler(), svm.NuSVC(nu=0.3)),
    "KNeighborsClassifier-euclidean": lambda: neighbors.KNeighborsClassifier(5),
    "KNeighborsClassifier-manhattan-distance": lambda: neighbors.KNeighborsClassifier(4, p=1, weights="distance"),
    "KNeighborsClassifier-minkowski3": lambda: neighbors.KNeighborsClassifier(3, p=3),
    "KMeans": lambda: cluster.KMeans(4, n_init=2, random_state=0),
    "NearestCentroid": neighbors.NearestCentroid,
}

REGRESSORS = {
    "DecisionTreeRegressor": lambda: tree.DecisionTreeRegressor(max_depth=8, random_state=0),
    "RandomForestRegressor": lambda: ensemble.RandomForestRegressor(8, max_depth=6, random_state=0),
    "ExtraTreesRegressor": lambda: ensemble.ExtraTreesRegressor(8, max_depth=6, random_state=0),
    "GradientBoostingRegressor": lambda: ensemble.GradientBoostingRegressor(n_estimators=8, random_state=0),
    "HistGradientBoostingRegressor": lambda: ensemble.HistGradientBoostingRegressor(max_iter=8, random_state=0),
    "LinearSVR": lambda: pipeline.make_pipeline(preprocessing.StandardScaler(), svm.LinearSVR(max_iter=5000)),
    "SVR-rbf": lambda: pipeline.make_pipeline(preprocessing.StandardScaler(), svm.SVR(C=10.0)),
    "NuSVR-poly": lambda: pipeline.make_pipeline(preprocessing.MinMaxScaler(), svm.NuSVR(kernel="poly", C=10.0)),
    "KNeighborsRegressor": lambda: neighbors.KNeighborsRegressor(5),
    "KNeighborsRegressor-distance": lambda: neighbors.KNeighborsRegressor(4, weights="distance", p=1),
}

CLASSIFICATION_SETS = ("iris", "wine", "breast_cancer", "digits", "make_classification", "random_classification")
REGRESSION_SETS = ("diabetes", "make_regression", "random_regression")
